import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/** The secret an `Authorization` header carries: the password of `Basic` (any user name) or a `Bearer` token. */
export function presentedSecret (authorization: string | undefined): string | undefined {
  const bearer = /^bearer +(\S+) *$/i.exec(authorization ?? '')
  if (bearer) return bearer[1]
  const basic = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization ?? '')
  if (!basic) return undefined
  const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : decoded.slice(colon + 1)
}

/**
 * Whether an `Authorization` header opens the dashboard: HTTP Basic with one of
 * `passwords` (any user name), or `Bearer` with one of them (the ops token is one).
 * Every password is compared, each in constant time (both sides hashed to equal
 * lengths, then `timingSafeEqual`), so the time taken tells nothing about which
 * came close. No passwords: open. An empty password never matches (an empty password
 * file locks the dashboard rather than opening it).
 */
export function dashboardAuthorized (authorization: string | undefined, passwords: readonly string[]): boolean {
  if (passwords.length === 0) return true
  const secret = presentedSecret(authorization)
  const presented = digest(secret ?? '')
  let match = false
  for (const password of passwords) match = (timingSafeEqual(presented, digest(password)) && password !== '') || match
  return match && secret !== undefined
}
