// Start-up, written once for the action, its post step and the terminal, in the one order that keeps
// secrets out of every line: the secrets as written, the Django settings' password, then the parsed inputs'.

import { Redactor } from '../run/secrets.js'
import { rawSecrets, withDjangoSettings, type RawInputs } from './connection-inputs.js'

export interface StartUp {
  /** Knows every secret masked so far: whatever an entry prints of an error passes through it. */
  readonly redactor: Redactor
  /**
   * Reads the Django settings when nothing else names the database and masks their password, then
   * parses the inputs with read and masks every secret it found. read is loadSettings for a run;
   * the post step passes readConnectionInputs, so that its bundle holds only what reaching a server needs.
   */
  settings<T extends { secrets: readonly string[] }>(read: (raw: RawInputs) => T): Promise<T>
}

/**
 * Masks the secrets as the user wrote them at once, before the caller prints a line or runs the
 * project's Python, so that they are hidden even when parsing fails; the rest waits for settings().
 * mask hides a secret from the log (core.setSecret, a Reporter's mask); the redactor learns it too.
 */
export function startUp(raw: RawInputs, mask: (secret: string) => void, redactor = new Redactor()): StartUp {
  const hide = (secrets: Iterable<string>) => {
    for (const secret of secrets) {
      redactor.add(secret)
      mask(secret)
    }
  }
  // Each once, longest first, as the redactor holds them (a copy: mask may be the redactor's own add).
  redactor.add(...rawSecrets(raw))
  for (const secret of [...redactor.known]) mask(secret)
  return {
    redactor,
    async settings(read) {
      const resolved = await withDjangoSettings(raw)
      hide(rawSecrets(resolved))
      const parsed = read(resolved)
      hide(parsed.secrets)
      return parsed
    }
  }
}
