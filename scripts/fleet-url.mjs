// A database's job in the fleet workflow (.github/workflows/verify-fleet.yml): picks its URL, from
// the secret its entry names (FROM_SECRET, passed with secrets: inherit) or from the JSON object of
// URLs by name (DATABASE_URLS, the workflow's database-urls secret, which a caller in any organization
// can pass). Masks the URL and its password in every form before anything could print them, then
// hands the URL to the action as a step output. A URL that is missing fails the job with the secret's
// name or the key, never a value.
import { appendFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'

const { DATABASE = '', SECRET = '', FROM_SECRET = '', DATABASE_URLS = '' } = process.env

function fail(message) {
  console.log(`::error title=Database URL of ${DATABASE}::${message}`)
  process.exit(1)
}

/** Every form of the URL's password a log could show: as written, decoded, encoded again. */
function passwordForms(url) {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:([^@/?#]*)@/i.exec(url)
  if (!match || match[1] === '') return []
  const written = match[1]
  let decoded = written
  try {
    decoded = decodeURIComponent(written)
  } catch {
    // A password with a lone "%": kept as written.
  }
  return [...new Set([written, decoded, encodeURIComponent(decoded)])]
}

let url = FROM_SECRET
if (SECRET !== '' && url === '') {
  fail(
    `the secret ${SECRET} is empty or was not passed: set it, and call the workflow with secrets: inherit (same organization or enterprise), or give the URL in database-urls`
  )
}
if (SECRET === '') {
  if (DATABASE_URLS.trim() === '') {
    fail(
      'its entry names no secret and no artifact, and the database-urls secret was not passed: pass {"<name>": "<URL>", ...} as database-urls'
    )
  }
  let urls
  try {
    urls = JSON.parse(DATABASE_URLS)
  } catch {
    fail('the database-urls secret is not JSON: it is {"<name>": "<URL>", ...}, on one line')
  }
  if (typeof urls !== 'object' || urls === null || Array.isArray(urls))
    fail('the database-urls secret is not a JSON object of URLs by name')
  url = typeof urls[DATABASE] === 'string' ? urls[DATABASE] : ''
  if (url.trim() === '') fail(`the database-urls secret has no URL under "${DATABASE}" (it has ${Object.keys(urls).length} other names)`)
}
if (/[\r\n]/.test(url)) fail('its URL holds a line break: give it on one line')
for (const secret of [url, ...passwordForms(url)]) console.log(`::add-mask::${secret}`)
const delimiter = `url_${randomBytes(12).toString('hex')}`
appendFileSync(process.env.GITHUB_OUTPUT, `database-url<<${delimiter}\n${url}\n${delimiter}\n`)
console.log(`The URL of ${DATABASE} is masked and handed to the action.`)
