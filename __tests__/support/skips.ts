// Tests that need something this machine may lack: run when it is there, else skipped with the
// reason in their name, so that the run's summary (skip-reporter.cjs) says why each was skipped.
// A tool scripts/setup.sh installs is marked so: .ci/run, after setup, fails on such a skip.

import { describe, test } from '@jest/globals'

/** The mark of a skip that setup should have prevented; skip-reporter.cjs looks for it. */
const SETUP_MARK = 'which scripts/setup.sh installs'

/** `test` itself, or when `missing` says what is absent, test.skip with that in every name (test.each too). */
function testUnless(missing: string | undefined): typeof test {
  if (!missing) return test
  const said = (name: unknown) => `${String(name)} [skipped: ${missing}]`
  const skipped = ((name: string, fn: Parameters<typeof test.skip>[1]) => test.skip(said(name), fn)) as typeof test
  skipped.each = ((table: never) => (name: string, fn: never) => test.skip.each(table)(said(name), fn)) as unknown as typeof test.each
  return skipped
}

/** A test that needs what scripts/setup.sh installs (`what`): skipped, marked, when it is absent. */
export function testNeeding(what: string, present: unknown): typeof test {
  return testUnless(present ? undefined : `no ${what}, ${SETUP_MARK}`)
}

/** A test that needs something setup does not install (a PostgreSQL major from npm): skipped with the reason. */
export function testIf(reason: string | undefined): typeof test {
  return testUnless(reason)
}

/** A suite skipped, with its reason in its name, when `reason` says why. */
export function describeIf(reason: string | undefined): (name: string, fn: () => void) => void {
  return (name, fn) => (reason ? describe.skip(`${name} [skipped: ${reason}]`, fn) : describe(name, fn))
}
