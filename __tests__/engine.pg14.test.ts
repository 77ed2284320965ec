// The engine end to end against a real PostgreSQL 14 server: an older server than the client tools.
import { engineSuite } from './support/engine-suite.js'

engineSuite(14)
