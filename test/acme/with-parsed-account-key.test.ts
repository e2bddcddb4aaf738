import { createPublicKey, KeyObject, verify } from 'node:crypto'
import * as acme from 'acme-client'
import t from 'tap'
import { withParsedAccountKey } from '../../src/acme/with-parsed-account-key.js'

type Signer = { accountKey: unknown, createSignedBody (url: string, payload: unknown, opts: { nonce: string, kid: string }): { protected: string, payload: string, signature: string } }

t.test("acme-client signs with the key parsed once; the JWS verifies with the account's public key", async t => {
  for (const key of [await acme.crypto.createPrivateEcdsaKey('P-256'), await acme.crypto.createPrivateRsaKey(2048)]) {
    const client = new acme.Client({ directoryUrl: 'https://127.0.0.1:1/dir', accountKey: key })
    t.equal(withParsedAccountKey(client), client, 'the same client')
    const http = (client as unknown as { http: Signer }).http
    t.ok(http.accountKey instanceof KeyObject, 'a KeyObject instead of the PEM')
    const jws = http.createSignedBody('https://127.0.0.1:1/new-order', { identifiers: [] }, { nonce: 'n', kid: 'https://127.0.0.1:1/acct/1' })
    const header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as { alg: string }
    const ec = header.alg === 'ES256'
    t.ok(verify('sha256', Buffer.from(`${jws.protected}.${jws.payload}`), { key: createPublicKey(key), ...(ec ? { dsaEncoding: 'ieee-p1363' as const } : {}) }, Buffer.from(jws.signature, 'base64url')), `${header.alg} signature verifies`)
  }
})

t.test('a client that does not look like acme-client 5 is left alone', async t => {
  const noHttp = {} as acme.Client
  t.equal(withParsedAccountKey(noHttp), noHttp)
  const parsed = { http: { accountKey: 'not a buffer' } }
  withParsedAccountKey(parsed as unknown as acme.Client)
  t.equal(parsed.http.accountKey, 'not a buffer')
})
