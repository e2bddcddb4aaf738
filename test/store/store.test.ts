import { relative, resolve, sep } from 'node:path'
import t from 'tap'
import { assertKey } from '../../src/store/store.js'

const ROOT = '/var/lib/mta-sts-host'

function inside (key: string): boolean {
  const full = resolve(ROOT, ...key.split('/'))
  const rel = relative(ROOT, full)
  return rel !== '' && rel.split(sep)[0] !== '..' && !rel.startsWith(sep) && full.startsWith(ROOT + sep)
}

function rejected (key: string): boolean {
  try {
    assertKey(key)
    return false
  } catch (err) {
    return (err as { code?: unknown }).code === 'MTA_STS_STORE_BAD_KEY'
  }
}

t.test('assertKey accepts well-formed keys', async t => {
  for (const key of ['a', 'certs/example.com/cert.pem', 'acme/account+1@x=y.json', 'UPPER/lower-_.x', 'a.b/c..d', 'a...', 'locks/x.lock', 'x.tmp-0', '_.x', '-', '@', '0']) {
    t.doesNotThrow(() => assertKey(key), key)
    t.ok(inside(key), `${key} stays inside the store`)
  }
})

t.test('assertKey rejects keys that are empty, absolute, climb out or have a segment starting with a dot', async t => {
  const bad = ['', '/', '/abs', '/etc/passwd', '../etc/passwd', '..', '.', 'a/../b', 'a/..', './a', 'a/./b', 'a//b', 'a/', '\\..\\x', 'a\\b',
    '...', '.hidden', 'a/.hidden', '.locks/x.lock', 'certs/.git/config', '..a',
    'sp ace', 'tab\t', 'nul\0byte', 'new\nline', 'ü', 'bücher.example', '*.example.com', 'a:b', 'c:\\windows', '~/x', '$HOME', '%2e%2e']
  for (const key of bad) t.ok(rejected(key), `${JSON.stringify(key)} rejected`)
  t.throws(() => assertKey('../etc/passwd'), { code: 'MTA_STS_STORE_BAD_KEY', message: 'invalid store key "../etc/passwd"' })
  t.throws(() => assertKey(''), { code: 'MTA_STS_STORE_BAD_KEY', message: 'invalid store key ""' })
})
