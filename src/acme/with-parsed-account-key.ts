import { createPrivateKey } from 'node:crypto'
import type * as acme from 'acme-client'

/**
 * Give acme-client's HTTP layer the account key parsed once, as a KeyObject:
 * it keeps the PEM and signs every request with it, so node parsed the PEM
 * again per request (0.6 ms of main-thread CPU, ten times the ECDSA signature
 * itself). node:crypto takes a KeyObject wherever acme-client passes the key
 * (createSign().sign, createPublicKey for the JWK). Left alone if acme-client's
 * internals ever look different.
 */
export function withParsedAccountKey (client: acme.Client): acme.Client {
  const http = (client as unknown as { http?: { accountKey?: unknown } }).http
  if (http !== undefined && Buffer.isBuffer(http.accountKey)) http.accountKey = createPrivateKey(http.accountKey)
  return client
}
