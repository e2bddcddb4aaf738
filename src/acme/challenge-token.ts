/** ACME tokens are base64url (RFC 8555 section 8.1 asks for at least 128 bits: 22 characters). */
const TOKEN = /^[A-Za-z0-9_-]{22,256}$/

/** Is `token` a well-formed ACME challenge token? Anything else is never looked up. */
export function isChallengeToken (token: string): boolean {
  return TOKEN.test(token)
}
