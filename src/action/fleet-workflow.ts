// The fleet workflow's own steps, as the runner runs them (dist/fleet-workflow/index.js plan|url):
// the plan's outputs (the matrix, the names, the action's timeout), and a database's URL, masked in
// every spelling the action itself masks before the action gets it as a step output.

import * as core from '@actions/core'
import { databaseUrl, planFleet } from '../fleet/workflow.js'
import { parseKeywordValue, secretForms, writtenUrlPassword } from '../run/secrets.js'

export function runFleetStep(step: string | undefined, env: NodeJS.ProcessEnv = process.env): void {
  if (step === 'plan') plan(env)
  else if (step === 'url') url(env)
  else {
    process.exitCode = 1
    core.error(`unknown step ${JSON.stringify(step)}: plan or url`, { title: 'Fleet workflow' })
  }
}

function plan(env: NodeJS.ProcessEnv): void {
  const planned = planFleet({
    databases: env.DATABASES ?? '',
    urls: env.DATABASE_URLS ?? '',
    fleet: env.FLEET || 'fleet',
    timeoutMinutes: Number(env.TIMEOUT_MINUTES || 60)
  })
  if ('problem' in planned) {
    process.exitCode = 1
    core.error(planned.problem, { title: 'Input databases' })
    return
  }
  core.setOutput('databases', JSON.stringify(planned.databases))
  core.setOutput('names', JSON.stringify(planned.names))
  core.setOutput('action-timeout', String(planned.actionTimeout))
  core.info(`${planned.names.length} database${planned.names.length === 1 ? '' : 's'} to verify: ${planned.names.join(', ')}`)
}

function url(env: NodeJS.ProcessEnv): void {
  const database = env.DATABASE ?? ''
  const found = databaseUrl({ database, secret: env.SECRET ?? '', fromSecret: env.FROM_SECRET ?? '', urls: env.DATABASE_URLS ?? '' })
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

/** The password a URL (in its user part or its query) or a key=value string holds, decoded: secretForms adds its other spellings. */
function passwordOf(url: string): string | undefined {
  const written = writtenUrlPassword(url) ?? /[?&]password=([^&#]*)/i.exec(url)?.[1]
  if (written !== undefined) {
    try {
      return decodeURIComponent(written)
    } catch {
      return written
    }
  }
  return parseKeywordValue(url)?.find((pair) => pair.key === 'password')?.value
}
