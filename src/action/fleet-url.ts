// A database's job in the fleet workflow (.github/workflows/verify-fleet.yml): picks its URL, from
// the secret its entry names (FROM_SECRET, passed with secrets: inherit) or from the JSON object of
// URLs by name (DATABASE_URLS, the workflow's database-urls secret, which a caller in any
// organization can pass). Masks the URL and every form of its password the action itself masks,
// before anything could print them, then hands the URL to the action as a step output. A URL that is
// missing fails the job naming the secret or the key, never a value.

import * as core from '@actions/core'
import { parseKeywordValue, secretForms, writtenUrlPassword } from '../run/secrets.js'

export function runFleetUrl(env: NodeJS.ProcessEnv = process.env): void {
  const database = env.DATABASE ?? ''
  const found = urlOf(database, env.SECRET ?? '', env.FROM_SECRET ?? '', env.DATABASE_URLS ?? '')
  if ('problem' in found) {
    process.exitCode = 1
    core.error(found.problem, { title: `Database URL of ${database}` })
    return
  }
  // core.setSecret escapes "%", CR and LF as the runner unescapes them: a mask is the text itself.
  for (const form of secretForms(passwordOf(found.url), found.url)) core.setSecret(form)
  core.setOutput('database-url', found.url)
  core.info(`The URL of ${database} is masked and handed to the action.`)
}

function urlOf(database: string, secret: string, fromSecret: string, urlsText: string): { url: string } | { problem: string } {
  if (secret !== '') {
    if (fromSecret.trim() !== '') return checked(fromSecret)
    return {
      problem:
        `the secret ${secret} is empty or was not passed: set it, and call the workflow with secrets: inherit ` +
        `(within your organization or enterprise); or leave "secret" out and give the URL in database-urls`
    }
  }
  if (urlsText.trim() === '') {
    return {
      problem:
        'its entry names no secret and no artifact, and the database-urls secret was not passed: pass {"<name>": "<URL>", ...} as database-urls'
    }
  }
  let urls: unknown
  try {
    urls = JSON.parse(urlsText)
  } catch {
    return { problem: 'the database-urls secret is not JSON: it is {"<name>": "<URL>", ...}' }
  }
  if (typeof urls !== 'object' || urls === null || Array.isArray(urls)) {
    return { problem: 'the database-urls secret is not a JSON object of URLs by name' }
  }
  const byName = urls as Record<string, unknown>
  const url = Object.hasOwn(byName, database) ? byName[database] : undefined
  if (typeof url !== 'string' || url.trim() === '') {
    const others = Object.keys(byName).filter((name) => name !== database).length
    return { problem: `the database-urls secret has no URL under "${database}" (it has ${others} other name${others === 1 ? '' : 's'})` }
  }
  return checked(url)
}

function checked(url: string): { url: string } | { problem: string } {
  return /[\r\n]/.test(url) ? { problem: 'its URL holds a line break: give it on one line' } : { url }
}

/** The password a URL or key=value string holds, decoded: secretForms adds its other spellings. */
function passwordOf(url: string): string | undefined {
  const written = writtenUrlPassword(url)
  if (written !== undefined) {
    try {
      return decodeURIComponent(written)
    } catch {
      return written
    }
  }
  const queried = /[?&]password=([^&#]*)/i.exec(url)?.[1]
  if (queried !== undefined) {
    try {
      return decodeURIComponent(queried)
    } catch {
      return queried
    }
  }
  return parseKeywordValue(url)?.find((pair) => pair.key === 'password')?.value
}
