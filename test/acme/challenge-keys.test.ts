import t from 'tap'
import { httpChallengeKey, isChallengeToken, tlsAlpnChallengeKey } from '../../src/acme/challenge-keys.js'
import { assertKey } from '../../src/store/store.js'

const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA'

t.test('isChallengeToken', async t => {
  const table: [string, boolean, string][] = [
    [TOKEN, true, 'a real token (43 characters)'],
    ['a'.repeat(22), true, '22 characters (128 bits) is the minimum'],
    ['a'.repeat(21), false, 'too short'],
    ['', false, 'empty'],
    ['A-z_09'.repeat(42) + 'abcd', true, '256 characters is the maximum'],
    ['a'.repeat(257), false, 'too long'],
    [`${TOKEN}=`, false, 'padding is not base64url'],
    ['abc+def/ghi'.padEnd(30, 'x'), false, 'base64 (not url) characters'],
    [`../../../../etc/passwd${'x'.repeat(10)}`, false, 'path traversal'],
    [`${'a'.repeat(22)}.json`, false, 'dots'],
    ['.'.repeat(30), false, 'only dots'],
    [`${'a'.repeat(22)}%2F`, false, 'percent-encoding'],
    [`${'a'.repeat(22)} `, false, 'trailing space'],
    [`${'a'.repeat(22)}\n`, false, 'trailing newline'],
    [`${'é'.repeat(22)}`, false, 'non-ASCII'],
  ]
  for (const [token, ok, label] of table) t.equal(isChallengeToken(token), ok, label)
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
