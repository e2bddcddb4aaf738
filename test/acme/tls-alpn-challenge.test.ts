import t from 'tap'
import { decodeTlsAlpnChallenge, encodeTlsAlpnChallenge } from '../../src/acme/tls-alpn-challenge.js'

const KEY_AUTH = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI'
const certificate = { certPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', keyPem: '-----BEGIN PRIVATE KEY-----\ny\n-----END PRIVATE KEY-----\n' }

t.test('encode then decode gives the challenge back', async t => {
  t.same(decodeTlsAlpnChallenge(encodeTlsAlpnChallenge({ keyAuthorization: KEY_AUTH, certificate })), { keyAuthorization: KEY_AUTH, certificate })
})

t.test('a bare key authorization (a record without a certificate) decodes to itself', async t => {
  t.same(decodeTlsAlpnChallenge(KEY_AUTH), { keyAuthorization: KEY_AUTH })
})

t.test('JSON without both PEMs, or not JSON at all: the key authorization only', async t => {
  t.same(decodeTlsAlpnChallenge(JSON.stringify({ keyAuthorization: KEY_AUTH, certPem: 'x' })), { keyAuthorization: KEY_AUTH })
  t.same(decodeTlsAlpnChallenge('{torn'), { keyAuthorization: '{torn' })
  t.same(decodeTlsAlpnChallenge('{"certPem":1}'), { keyAuthorization: '{"certPem":1}' }, 'no key authorization in it: the text, which matches no challenge')
})
