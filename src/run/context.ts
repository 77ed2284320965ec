// The engine's only window on the outside world; the action, the CLI and the tests each supply one.

export interface Reporter {
  info(message: string): void
  warning(message: string): void
  /** Runs fn inside a collapsible log section; the section closes even when fn throws. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
  /** Hides a secret from everything printed from now on. */
  mask(secret: string): void
}

/** Temporary things the engine creates, recorded so that a later cleanup can remove what is left. */
export type ResourceKind = 'database' | 'folder'

export interface ResourceLedger {
  created(kind: ResourceKind, id: string): void
  removed(kind: ResourceKind, id: string): void
}

export const noLedger: ResourceLedger = { created() {}, removed() {} }
