// The layers CONTRIBUTING states, held by the lint: engine/ wires phases and does none of their work.

import { expect, test } from '@jest/globals'
import { ESLint } from 'eslint'

test('a file in engine/ that reads a file or runs a tool itself is refused by the lint, naming where the work belongs', async () => {
  const eslint = new ESLint()
  const lint = async (code: string) =>
    (await eslint.lintText(code, { filePath: 'src/engine/example.ts' }))[0].messages.filter(
      (message) => message.ruleId === 'no-restricted-imports'
    )
  for (const source of ['node:fs', 'node:fs/promises', 'fs', 'fs/promises', '../tools/process.js', '../tools/process-group.js']) {
    const messages = await lint(`import * as x from '${source}'\nexport const y = x\n`)
    expect(messages).toHaveLength(1)
    expect(messages[0].message.length).toBeGreaterThan(20)
  }
  expect(await lint(`import { runBasebackup } from '../physical/basebackup.js'\nexport const y = runBasebackup\n`)).toEqual([])
})
