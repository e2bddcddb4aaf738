import type { PolicyMode } from './policy-mode.js'

/** The fields of an MTA-STS policy, already validated and normalised. */
export interface PolicyFields {
  readonly mode: PolicyMode
  readonly mx: readonly string[]
  readonly maxAge: number
}

/**
 * Render the policy text exactly as RFC 8461 section 3.2 and strict senders
 * expect: `version` first, `key: value` with no space before the colon, CRLF
 * line endings, exactly one trailing CRLF, no blank lines, ASCII only, one
 * `mx` line per pattern and no other repeated key.
 */
export function renderPolicy (policy: PolicyFields): string {
  const lines = ['version: STSv1', `mode: ${policy.mode}`]
  for (const mx of policy.mx) lines.push(`mx: ${mx}`)
  lines.push(`max_age: ${policy.maxAge}`)
  return lines.join('\r\n') + '\r\n'
}

/**
 * The largest policy body senders read: Postfix's MTA-STS resolver and mox
 * stop at 64 KiB, so a longer policy is a configuration error.
 */
export const MAX_POLICY_BYTES = 64 * 1024
