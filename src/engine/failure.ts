// How a run's failure is told: a VerificationError as it is, a server that went away by name, an
// interruption or a time-out with the phase it stopped, anything else as unexpected.

import type { PhaseName, VerificationResult } from '../report/result.js'
import { describeLostConnection, InputError, serverMessage, serverNotes, VerificationError } from '../run/errors.js'
import { durationInWords } from '../run/duration.js'
import type { Redactor } from '../run/secrets.js'

export type RunFailure = NonNullable<VerificationResult['error']>

/** Any error a phase threw, in the user's terms, its secrets removed. */
export function describeFailure(error: unknown, phase: PhaseName | undefined, redactor: Redactor): RunFailure {
  const known = error instanceof VerificationError ? error : describeLostConnection(error, phase)
  if (known)
    return {
      problem: known.problem,
      message: redactor.redact(known.message),
      hint: known.hint && redactor.redact(known.hint),
      ...(known instanceof InputError ? { input: known.input } : {})
    }
  // A server's error (pg's DatabaseError) with what it added: DETAIL in the message, HINT as the hint.
  const { hint } = serverNotes(error)
  return { problem: 'unexpected', message: redactor.redact(serverMessage(error)), ...(hint ? { hint: redactor.redact(hint) } : {}) }
}

/** A run stopped from outside: by a signal (its name is the reason), or by the timeout input. */
export function describeInterruption(reason: unknown, timeoutMs: number | undefined, phase: PhaseName | undefined): RunFailure {
  if (typeof reason === 'string') {
    return { problem: 'interrupted', message: `Interrupted by ${reason}: the verification was stopped before it finished.` }
  }
  return {
    problem: 'interrupted',
    message: `Timed out: the verification did not finish within timeout (${durationInWords(timeoutMs ?? 0)}) and was stopped${phase ? ` during ${phase}` : ''}.`,
    hint:
      `If the log shows ${phase ?? 'the run'} still making progress (its progress lines), raise ` +
      `timeout, or verify a smaller database or a faster format. A warning that names another session ` +
      'whose lock the run waited for (an open transaction, a migration) says what held it up. ' +
      'A restore whose sessions wait on each other is reported as a stall, not as a time-out.'
  }
}
