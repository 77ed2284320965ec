// A Jest reporter: after the run, every skipped test and why (its name carries the reason, see
// skips.ts). With BACKUP_VERIFY_SETUP_DONE=1 (.ci/run, after scripts/setup.sh), a test skipped for
// a tool setup installs fails the run: setup did not do its work.

class SkipReporter {
  constructor(globalConfig, options) {
    this.options = options
    this.failure = undefined
  }

  onRunComplete(contexts, results) {
    const skipped = results.testResults.flatMap((file) =>
      file.testResults
        .filter((entry) => entry.status === 'pending' || entry.status === 'skipped' || entry.status === 'todo')
        .map((entry) => ({ file: file.testFilePath.replace(`${process.cwd()}/`, ''), name: entry.fullName }))
    )
    if (skipped.length === 0) return
    const lines = [`Skipped: ${skipped.length} test(s), each with why:`, ...skipped.map(({ file, name }) => `  ${file}: ${name}`)]
    process.stderr.write(`\n${lines.join('\n')}\n`)
    const unset = skipped.filter(({ name }) => name.includes('which scripts/setup.sh installs'))
    if (process.env.BACKUP_VERIFY_SETUP_DONE === '1' && unset.length > 0) {
      this.failure = new Error(`${unset.length} test(s) skipped for a tool scripts/setup.sh installs: setup did not install it`)
      process.stderr.write(`${this.failure.message}\n`)
    }
  }

  getLastError() {
    return this.failure
  }
}

module.exports = SkipReporter
