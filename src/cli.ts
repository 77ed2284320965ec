#!/usr/bin/env node
// Entry point for the terminal: backup-verify --database-url URL [--verbose].

import { runCommandLine } from './terminal/run.js'
import { favourSmallHeap } from './run/heap.js'

favourSmallHeap()
process.exitCode = await runCommandLine(process.argv.slice(2))
