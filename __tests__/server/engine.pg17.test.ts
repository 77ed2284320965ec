// The server-version matrix against a real PostgreSQL 17 server.
import { versionMatrixCase } from '../support/version-matrix.js'

versionMatrixCase(17)
