// The post step's own workflow commands write exactly what @actions/core writes for the same call.

import { afterEach, describe, expect, jest, test } from '@jest/globals'
import * as core from '@actions/core'
import * as commands from '../../../src/action/commands.js'

function written(call: () => void): string {
  const chunks: string[] = []
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk))
    return true
  })
  try {
    call()
  } finally {
    spy.mockRestore()
  }
  return chunks.join('')
}

const TEXTS = ['plain', 'per%cent %25 and %0A', 'two\nlines\r\nand CR\r', '::warning::injected', 'ünïcødé 🙂', '', 'x'.repeat(5000)]

describe("the post step's workflow commands", () => {
  afterEach(() => {
    delete process.env.STATE_probe
    delete process.env.INPUT_DATABASE_URL
    delete process.env['INPUT_DATABASE-URL']
  })

  test.each(TEXTS)('%j: info, warning and add-mask as @actions/core writes them', (text) => {
    expect(written(() => commands.info(text))).toBe(written(() => core.info(text)))
    expect(written(() => commands.warning(text))).toBe(written(() => core.warning(text)))
    expect(written(() => commands.setSecret(text))).toBe(written(() => core.setSecret(text)))
  })

  test('state and inputs are read as @actions/core reads them', () => {
    expect(commands.getState('probe')).toBe(core.getState('probe'))
    process.env.STATE_probe = '["backup_verify_x"]'
    expect(commands.getState('probe')).toBe(core.getState('probe'))
    process.env['INPUT_DATABASE-URL'] = '  postgresql://u@h/d \n'
    expect(commands.getInput('database-url')).toBe(core.getInput('database-url'))
    expect(commands.getInput('missing')).toBe(core.getInput('missing'))
  })
})
