// The engine end to end against a real PostgreSQL 15 server, and its case of the server-version matrix.
import { engineSuite } from '../support/engine-suite.js'
import { versionMatrixCase } from '../support/version-matrix.js'

engineSuite(15)
versionMatrixCase(15)
