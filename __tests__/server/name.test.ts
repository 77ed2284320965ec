// The name input: this database's label in the receipt and the history, so that a matrix's jobs'
// receipts are told apart in a fleet report; without it, the database's own name (or the file's).

import { describe, expect, test } from '@jest/globals'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { loadSettings } from '../../src/inputs/inputs.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { createSampleDatabase, useServer } from '../support/server.js'

const { server, work } = useServer('name')

async function verify(inputs: Record<string, string>) {
  const settings = settingsFrom({ 'min-size': '0', verify: 'schema', ...inputs }, work)
  return verifyBackup({ settings, reporter: recordingReporter(), ledger: new MemoryLedger(), env: { PATH: process.env.PATH } })
}

describe('name', () => {
  test('given: in the result, the receipt and the history; not given: the database, or the file, it is', async () => {
    await createSampleDatabase(server, 'shop')
    const history = path.join(work, 'history.jsonl')
    const named = await verify({ 'database-url': server.url('shop'), name: 'orders-eu', history, 'keep-backup': 'true' })
    expect(named.error).toBeUndefined()
    expect(named.name).toBe('orders-eu')
    expect(JSON.parse(await readFile(named.receiptPath!, 'utf8')).name).toBe('orders-eu')
    expect(JSON.parse((await readFile(history, 'utf8')).trim().split('\n').at(-1)!).name).toBe('orders-eu')
    const plain = await verify({ 'database-url': server.url('shop') })
    expect(JSON.parse(await readFile(plain.receiptPath!, 'utf8')).name).toBe('shop')
    const file = await verify({ 'backup-file': named.backup!.path, 'database-url': server.url('postgres') })
    expect(file.name).toBe(path.basename(named.backup!.path))
  })

  test('a label with a line break or over 100 characters is refused before anything connects', () => {
    const load = (name: string) => () =>
      loadSettings({
        get: (input) => ({ 'database-url': 'postgresql://u@nowhere.invalid/d', name })[input] ?? '',
        environment: {},
        workingDirectory: work
      })
    expect(load('orders\nEU')).toThrow('Input "name" has an invalid value "orders\\nEU": expected a label of at most 100 characters')
    expect(load('x'.repeat(101))).toThrow('Input "name" has an invalid value')
    expect(load('orders-eu ✓')).not.toThrow()
  })
})
