// What the gate refused, in the user's words: where in the backup (a line of a plain dump, an
// entry of an archive's table of contents), what, and why; and the hints that blame the right thing.

import { VerificationError } from '../../run/errors.js'
import type { Refusal, UntrustedRoutine } from './dump-gate.js'

export const REFUSED_HINT =
  'A backup is restored as untrusted input: nothing in it may act beyond its temporary database. pg_dump ' +
  'never writes such a statement into a dump of one database, so this file was edited, or is not one ' +
  '(a pg_dumpall file holds roles and several databases). See docs/safety.md.'

export const UNTRUSTED_CODE_HINT =
  'Vouch for the backup with expected-checksum (its SHA-256 from where it was made) or the receipt written when it was made, or verify it on a server where its code can harm nothing.'

/** Where: "line 12", "TOC entry 215 (TABLE public.t)", or the offset when nothing better is known. */
function placeOf(item: { offset: number; entry?: string; line?: number }): string {
  if (item.line !== undefined) return `line ${item.line}`
  if (item.entry) return item.entry
  return `byte ${item.offset}`
}

export function describeRefusal(refusal: Refusal): string {
  return `${placeOf(refusal)}: ${refusal.text ? `${refusal.text} ` : ''}(${refusal.reason})`
}

export function describeUntrustedCode(routine: UntrustedRoutine): string {
  return `${routine.why ?? `${routine.routine} in ${routine.language}`} (${placeOf(routine)})`
}

/** A refusal met while restoring (the backup changed since it was validated, or a streamed dump): the run stops. */
export function refusedStatement(refusal: Refusal): VerificationError {
  return new VerificationError(
    'backup-refused',
    `The backup holds a statement that would act beyond its temporary database, refused before it ran: ${describeRefusal(refusal)}.`,
    REFUSED_HINT
  )
}
