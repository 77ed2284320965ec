// The server-version matrix against a real PostgreSQL 18 server.
import { versionMatrixCase } from '../support/version-matrix.js'

versionMatrixCase(18)
