import { errors } from '../errors.js'

/**
 * The one layout of store keys: every key and lock name the service uses is
 * built here, so the layout can be read in one place and every part that
 * comes from outside (host names, directory URLs, challenge tokens) passes
 * the safe-key rule first, like certmagic's `KeyBuilder.Safe`.
 *
 * ```
 * certificates/<issuer>/<host>.pem          key + chain of one host (secret)
 * acme/<directory>/account.key              ACME account key (secret)
 * acme/<directory>/account.json             ACME account URL, directory, e-mail
 * acme/<directory>/orders.json              times of the new orders in the budget window (all replicas)
 * acme/challenges/<host>/http-01/<token>    HTTP-01 key authorization
 * acme/challenges/<host>/tls-alpn-01        TLS-ALPN-01 key authorization
 * internal-ca/ca.crt, internal-ca/ca.key    the internal CA (the key is secret)
 * retirements/<domain>.json                 a removed tenant served as mode none until its max_age passed
 * locks: issue-<host>, acme-account-<directory host>, internal-ca
 * ```
 *
 * The layout is the one earlier versions wrote, so a store written by them is
 * read as it is (a restart after an upgrade finds its certificates).
 */

/**
 * The safe-key rule: turn any name into one key segment. Lower case, `*`
 * becomes `wildcard_`, anything outside `[a-z0-9._-]` (slashes, backslashes,
 * `%`, NUL, spaces, Unicode look-alike dots) becomes `_`, leading dots are
 * dropped and runs of dots collapse to one, so a segment is never empty,
 * `.`, `..` or hidden, and no name can climb out of its folder.
 */
export function safeKeyPart (name: string): string {
  const cleaned = name.trim().toLowerCase().replace(/\*/g, 'wildcard_').replace(/[^a-z0-9._-]/g, '_').replace(/^\.+/, '').replace(/\.{2,}/g, '.')
  return cleaned === '' ? '_' : cleaned
}

/** Join names into a key, each made one safe segment by {@link safeKeyPart}. */
export function storeKey (...parts: string[]): string {
  return parts.map(safeKeyPart).join('/')
}

/** ACME challenge tokens are base64url; anything else would not be one segment. */
const TOKEN_SEGMENT = /^[A-Za-z0-9_-]+$/

/** Key of the stored certificate bundle (private key and chain) of `host` from issuer `issuer`. */
export function certificateKey (issuer: string, host: string): string {
  return storeKey('certificates', issuer, `${host}.pem`)
}

/** Name of the lock held while a certificate for `host` is obtained (single flight across replicas). */
export function issueLockName (host: string): string {
  return `issue-${safeKeyPart(host)}`
}

/** Folder of the ACME account for the directory at `directoryUrl`: one account per directory. */
export function acmeAccountFolder (directoryUrl: string): string {
  const url = new URL(directoryUrl)
  return storeKey('acme', url.host + url.pathname.replace(/\//g, '-'))
}

/** Keys of the ACME account for the directory at `directoryUrl`. */
export function acmeAccountKeys (directoryUrl: string): { readonly key: string; readonly meta: string } {
  const folder = acmeAccountFolder(directoryUrl)
  return { key: `${folder}/account.key`, meta: `${folder}/account.json` }
}

/** Key of the new-order times every replica sharing the store counts against the budget. */
export function acmeOrdersKey (directoryUrl: string): string {
  return `${acmeAccountFolder(directoryUrl)}/orders.json`
}

/**
 * Key of the ACME order in progress for `host` (its URL and, once made, the
 * certificate's private key: a secret). Whoever takes the host's issuance lock
 * after a holder died resumes that order instead of placing another one.
 */
export function acmePendingOrderKey (directoryUrl: string, host: string): string {
  return `${acmeAccountFolder(directoryUrl)}/pending/${safeKeyPart(host)}.json`
}

/** Name of the lock held while an order is counted against the shared budget. */
export function acmeOrdersLockName (directoryUrl: string): string {
  return `acme-orders-${safeKeyPart(new URL(directoryUrl).host)}`
}

/** Name of the lock held while the ACME account of `directoryUrl` is loaded or created. */
export function acmeAccountLockName (directoryUrl: string): string {
  return `acme-account-${safeKeyPart(new URL(directoryUrl).host)}`
}

/**
 * Key of an HTTP-01 key authorization for `host` and `token`. A token that
 * is not base64url is refused (`MTA_STS_STORE_BAD_KEY`): tokens are case
 * sensitive, so they are checked, not rewritten.
 */
export function httpChallengeKey (host: string, token: string): string {
  if (!TOKEN_SEGMENT.test(token)) throw new errors.STORE_BAD_KEY(token)
  return `${storeKey('acme', 'challenges', host)}/http-01/${token}`
}

/** Key of the TLS-ALPN-01 key authorization for `host`. */
export function tlsAlpnChallengeKey (host: string): string {
  return `${storeKey('acme', 'challenges', host)}/tls-alpn-01`
}

/** Key of the internal CA's certificate: the file operators trust. */
export const INTERNAL_CA_CERT_KEY = 'internal-ca/ca.crt'
/** Key of the internal CA's private key (secret). */
export const INTERNAL_CA_KEY_KEY = 'internal-ca/ca.key'
/** Name of the lock held while the internal CA is loaded or created. */
export const INTERNAL_CA_LOCK = 'internal-ca'

/** Where the retirement of a removed tenant is kept (see `tenants/retirements.ts`). */
export function retirementKey (domain: string): string {
  return `${RETIREMENTS_PREFIX}/${safeKeyPart(`${domain}.json`)}`
}

/** The folder of {@link retirementKey}s. */
export const RETIREMENTS_PREFIX = 'retirements'
