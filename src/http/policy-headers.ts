/**
 * The headers of every answer on the policy path besides its length: what
 * `@fastify/helmet` sets on the https listener with the CSP `buildApp` gives
 * it, and the plain-text type. The policy route sets them from this one frozen object instead of
 * running helmet per request; `test/http/policy-headers.test.ts` checks they
 * stay what helmet sends on the listener's other answers.
 */
export const POLICY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'content-type': 'text/plain; charset=utf-8',
})

/**
 * {@link POLICY_HEADERS} with the `content-length` of a body of `length`
 * bytes, frozen: what a tenant's 200 answers are written with, made once per
 * tenant entry.
 */
export function policyHeaders (length: number): Readonly<Record<string, string>> {
  return Object.freeze({ ...POLICY_HEADERS, 'content-length': String(length) })
}
