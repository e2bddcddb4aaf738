import { join, relative, resolve, sep } from 'node:path'
import t from 'tap'
import {
  acmeAccountKeys, acmeAccountLockName, certificateKey, httpChallengeKey, INTERNAL_CA_CERT_KEY, INTERNAL_CA_KEY_KEY, INTERNAL_CA_LOCK,
  issueLockName, safeKeyPart, storeKey, tlsAlpnChallengeKey,
} from '../../src/store/keys.js'
import { assertKey } from '../../src/store/store.js'

const ROOT = '/var/lib/mta-sts-host'
const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA'

function inside (key: string): boolean {
  const full = resolve(ROOT, ...key.split('/'))
  const rel = relative(ROOT, full)
  return rel !== '' && rel.split(sep)[0] !== '..' && !rel.startsWith(sep) && full.startsWith(ROOT + sep)
}

t.test('the layout earlier versions wrote: a store written by them is read as it is', async t => {
  t.equal(certificateKey('acme', 'mta-sts.example.com'), 'certificates/acme/mta-sts.example.com.pem')
  t.equal(certificateKey('internal', 'mta-sts.example.com'), 'certificates/internal/mta-sts.example.com.pem')
  t.equal(issueLockName('mta-sts.example.com'), 'issue-mta-sts.example.com')
  t.same(acmeAccountKeys('https://acme-v02.api.letsencrypt.org/directory'), {
    key: 'acme/acme-v02.api.letsencrypt.org-directory/account.key',
    meta: 'acme/acme-v02.api.letsencrypt.org-directory/account.json',
  })
  t.same(acmeAccountKeys('https://127.0.0.1:14000/dir'), { key: 'acme/127.0.0.1_14000-dir/account.key', meta: 'acme/127.0.0.1_14000-dir/account.json' })
  t.equal(acmeAccountLockName('https://127.0.0.1:14000/dir'), 'acme-account-127.0.0.1_14000')
  t.equal(INTERNAL_CA_CERT_KEY, 'internal-ca/ca.crt')
  t.equal(INTERNAL_CA_KEY_KEY, 'internal-ca/ca.key')
  t.equal(INTERNAL_CA_LOCK, 'internal-ca')
})

/** Names an attacker (or a typo) could slip into a key: each must stay one segment inside its folder. */
const TRAVERSAL = ['../x', '..', '.', 'a/../../b', '/etc/passwd', '/abs', '../../..', '%2e%2e', '%2e%2e%2f', '\0', 'nul\0byte',
  '\\..\\..\\windows', 'a\\b', '..\\..', 'C:\\x', 'a/./b', '//double', '', '   ', '.hidden', '..hidden', '...',
  '\u2024\u2024', '\uff0e\uff0e/x', '\u3002\u3002', '\u2215etc', 'bücher.example', '😀', '*.example.com', 'UPPER.Example.COM', 'a\nb']

t.test('every key builder keeps traversal attempts inside the store', async t => {
  const builders: [string, (name: string) => string][] = [
    ['certificateKey', name => certificateKey('acme', name)],
    ['certificateKey (issuer)', name => certificateKey(name, 'mta-sts.example.com')],
    ['httpChallengeKey', name => httpChallengeKey(name, 'lower-case_token-0123456789')],
    ['tlsAlpnChallengeKey', name => tlsAlpnChallengeKey(name)],
    ['issueLockName', name => issueLockName(name)],
    ['storeKey', name => storeKey('certs', name, 'cert.pem')],
  ]
  for (const [label, build] of builders) {
    for (const name of TRAVERSAL) {
      const key = build(name)
      t.doesNotThrow(() => assertKey(key), `${label}(${JSON.stringify(name)}) -> ${key} is a valid key`)
      t.ok(inside(key), `${label}(${JSON.stringify(name)}) -> ${key} stays under the root`)
      t.equal(resolve(ROOT, ...key.split('/')), join(ROOT, ...key.split('/')), 'no segment is special')
      t.notOk(key.split('/').some(s => s === '' || s === '.' || s === '..' || s.startsWith('.')), 'no empty, dot or hidden segment')
      t.match(key, /^[a-z0-9._/-]+$/, 'only [a-z0-9._-] in segments')
    }
  }
  t.equal(certificateKey('acme', '../../etc/passwd').split('/').length, 3, 'the host stays one segment')
})

t.test('ACME directories: the URL cannot steer the account folder', async t => {
  for (const url of ['https://x.example/../../etc', 'https://x.example/%2e%2e/%2e%2e', 'https://x.example/a\\b', 'https://USER@X.example:8443/Dir/../..//']) {
    const { key, meta } = acmeAccountKeys(url)
    for (const k of [key, meta, acmeAccountLockName(url)]) {
      t.doesNotThrow(() => assertKey(k), `${url} -> ${k}`)
      t.ok(inside(k))
    }
    t.equal(key.split('/').length, 3, 'one folder under acme/')
  }
})

t.test('challenge tokens are checked, not rewritten (they are case sensitive)', async t => {
  for (const token of ['../x', '..', 'a/b', 'a.b', '%2e%2e', '', 'a\0b', 'a\\b', 'é']) {
    t.throws(() => httpChallengeKey('mta-sts.example.com', token), { code: 'MTA_STS_STORE_BAD_KEY' }, JSON.stringify(token))
  }
  t.equal(httpChallengeKey('mta-sts.example.com', 'AbC-_9'), 'acme/challenges/mta-sts.example.com/http-01/AbC-_9')
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

t.test('HTTP-01 key', async t => {
  t.equal(httpChallengeKey('mta-sts.example.com', TOKEN), `acme/challenges/mta-sts.example.com/http-01/${TOKEN}`)
  t.equal(httpChallengeKey('MTA-STS.Example.COM', TOKEN), `acme/challenges/mta-sts.example.com/http-01/${TOKEN}`, 'lower-cased')
  const hostile = httpChallengeKey('../../etc', TOKEN)
  t.equal(hostile, `acme/challenges/_._etc/http-01/${TOKEN}`, 'a host cannot climb out of its folder')
  t.doesNotThrow(() => assertKey(hostile), 'a valid store key')
  t.equal(httpChallengeKey('*.example.com', TOKEN), `acme/challenges/wildcard_.example.com/http-01/${TOKEN}`)
})

t.test('TLS-ALPN-01 key', async t => {
  t.equal(tlsAlpnChallengeKey('mta-sts.example.com'), 'acme/challenges/mta-sts.example.com/tls-alpn-01')
  t.equal(tlsAlpnChallengeKey('Host With Spaces'), 'acme/challenges/host_with_spaces/tls-alpn-01')
  t.equal(tlsAlpnChallengeKey('..'), 'acme/challenges/_/tls-alpn-01')
  for (const host of ['..', '.hidden', 'a/b', 'a\\b', '']) t.doesNotThrow(() => assertKey(tlsAlpnChallengeKey(host)), JSON.stringify(host))
})
