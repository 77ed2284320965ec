// The redactor: every spelling of a password disappears from any text.

import { describe, expect, test } from '@jest/globals'
import { Redactor, secretForms } from '../../../src/run/secrets.js'
import { forgetSecretVariables, passwordFileLine } from '../../../src/connection/environment.js'

const PASSWORDS = ['p@ss:word', 'a/b?c#d%e', 'it\'s "quoted"', 'with spaces here', 'ünïcødé-пароль', 'back\\slash']

describe('Redactor', () => {
  test.each(PASSWORDS)('%j is hidden raw, URL-encoded and inside the URL it came in', (password) => {
    const url = `postgresql://app:${encodeURIComponent(password)}@db:5432/shop`
    const redactor = new Redactor(secretForms(password, url))
    const text = [
      `FATAL: password authentication failed; tried ${password}`,
      `connection string ${url}`,
      `encoded ${encodeURIComponent(password)} and ${encodeURIComponent(password).toLowerCase()}`
    ].join('\n')
    const redacted = redactor.redact(text)
    expect(redacted).not.toContain(password)
    expect(redacted).not.toContain(encodeURIComponent(password))
    expect(redacted).toContain('FATAL: password authentication failed; tried ***')
  })

  test('connection strings with passwords it was never told about are masked too', () => {
    const redactor = new Redactor()
    expect(redactor.redact('could not connect: postgresql://bob:hunter2@db/x')).toBe('could not connect: postgresql://bob:***@db/x')
    expect(redactor.redact("host=db password='hunter 2' dbname=x")).toBe('host=db password=*** dbname=x')
  })

  test('a password in the query is hidden as written and decoded, apart from its URL', () => {
    const url = 'postgresql://app@db:5432/shop?sslmode=require&password=s3cr%21t'
    const redacted = new Redactor(secretForms(undefined, url)).redact('tried s3cr%21t, then s3cr!t')
    expect(redacted).toBe('tried ***, then ***')
  })

  test('a secret that contains another is masked whole', () => {
    const redactor = new Redactor(['abc', 'abcdef'])
    expect(redactor.redact('xabcdefx')).toBe('x***x')
  })

  test('error objects are redacted by message', () => {
    expect(new Redactor(['s3cret']).redactError(new Error('bad s3cret'))).toBe('bad ***')
  })
})

describe('password file', () => {
  test('escapes ":" and "\\\\" as libpq expects', () => {
    expect(passwordFileLine('a:b\\c')).toBe('*:*:*:*:a\\:b\\\\c\n')
  })
})

describe("the process's own environment", () => {
  test('loses the inputs and the password variables once they are read; the rest stays', () => {
    const env: NodeJS.ProcessEnv = {
      'INPUT_DATABASE-URL': 'postgresql://app:pw@db/app',
      'INPUT_RESTORE-DATABASE-URL': 'postgresql://app:pw@db2/app',
      INPUT_VERBOSE: 'false',
      DATABASE_URL: 'postgresql://app:pw@db/app',
      DB_PASSWORD: 'pw',
      PGPASSWORD: 'pw',
      DB_HOST: 'db',
      PATH: '/usr/bin',
      RUNNER_TEMP: '/tmp/runner'
    }
    forgetSecretVariables(env)
    expect(env).toEqual({ DB_HOST: 'db', PATH: '/usr/bin', RUNNER_TEMP: '/tmp/runner' })
  })
})
