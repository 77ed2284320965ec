// The server-version matrix against a real PostgreSQL 16 server.
import { versionMatrixCase } from '../support/version-matrix.js'

versionMatrixCase(16)
