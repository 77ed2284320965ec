// The workflow commands the post step gives (a line to the log, a warning, a mask) and the state it
// reads, written as the runner reads them. The post step does not load @actions/core: its HTTP
// client (for OIDC tokens, which cleanup never asks for) would make the post bundle ten times larger.
// A test holds these to what @actions/core writes.

import os from 'node:os'

/** Command data: "%", CR and LF escaped, as the runner unescapes them. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

function command(name: string, data: string): void {
  process.stdout.write(`::${name}::${escapeData(data)}${os.EOL}`)
}

export function info(message: string): void {
  process.stdout.write(`${message}${os.EOL}`)
}

export function warning(message: string): void {
  command('warning', message)
}

export function setSecret(secret: string): void {
  command('add-mask', secret)
}

/** What the main step saved under this name (core.saveState), or '' when nothing was. */
export function getState(name: string): string {
  return process.env[`STATE_${name}`] || ''
}

/** An input of the action (INPUT_<NAME>), trimmed, or '' when it was not given. */
export function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim()
}
