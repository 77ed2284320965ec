// A promise settled from outside: one phase hands a value to work another phase started earlier.

export class Deferred<T> {
  readonly promise: Promise<T>
  resolve!: (value: T) => void
  reject!: (reason: unknown) => void

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    // Whoever waits sees the rejection; nobody waiting is not an error.
    this.promise.catch(() => {})
  }
}
