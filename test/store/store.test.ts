import { join, relative, resolve, sep } from 'node:path'
import t from 'tap'
import { assertKey, safeKeyPart, storeKey } from '../../src/store/store.js'

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

t.test('safeKeyPart turns any name into one safe segment', async t => {
  const table: [string, string][] = [
    ['Example.COM', 'example.com'],
    ['  mta-sts.example.com  ', 'mta-sts.example.com'],
    ['*.example.com', 'wildcard_.example.com'],
    ['../etc/passwd', '_etc_passwd'],
    ['..', '_'],
    ['.', '_'],
    ['', '_'],
    ['   ', '_'],
    ['/abs', '_abs'],
    ['a/../b', 'a_._b'],
    ['a/b/c', 'a_b_c'],
    ['...hidden', 'hidden'],
    ['a....b', 'a.b'],
    ['nul\0byte', 'nul_byte'],
    ['with space', 'with_space'],
    ['bücher.example', 'b_cher.example'],
    ['a\\b', 'a_b'],
    ['x@y+z=w', 'x_y_z_w'],
  ]
  for (const [input, output] of table) {
    t.equal(safeKeyPart(input), output, JSON.stringify(input))
  }
})

t.test('storeKey: traversal attempts never leave the store folder', async t => {
  const attempts = ['../etc/passwd', '..', '.', '/abs', '/etc/shadow', 'a/../b', '../../..', '*.example.com', 'a/b', '\0', 'nul\0byte', ' spaced name ',
    'bücher.example', '😀', '.hidden', '..hidden', '...', '%2e%2e', '\\..\\..\\windows', '', 'C:\\x', '..\\..', 'a/./b', '//double']
  for (const name of attempts) {
    const key = storeKey('certs', name, 'cert.pem')
    t.doesNotThrow(() => assertKey(key), `${JSON.stringify(name)} -> ${key} is a valid key`)
    t.equal(key.split('/').length, 3, `${JSON.stringify(name)} stays one segment`)
    t.ok(inside(key), `${JSON.stringify(name)} -> ${key} stays under the root`)
    t.equal(resolve(ROOT, ...key.split('/')), join(ROOT, ...key.split('/')), 'no segment is special')
  }
  t.equal(storeKey('certs', 'MTA-STS.Example.com', 'key.pem'), 'certs/mta-sts.example.com/key.pem')
  t.equal(storeKey(), '')
})
