// The server-version matrix against a real PostgreSQL 13 server.
import { versionMatrixCase } from '../support/version-matrix.js'

versionMatrixCase(13)
