/** Names published or served for every tenant domain, longest prefix last. */
const PREFIXES = ['mta-sts.', '_mta-sts.', '_smtp._tls.'] as const

/** The longest a DNS name may be in text form (RFC 1035, without the trailing dot). */
export const MAX_DNS_NAME = 253

/**
 * The first name derived from a tenant `domain` (A-labels) that would be
 * longer than {@link MAX_DNS_NAME}: `mta-sts.<domain>` (the policy host),
 * `_mta-sts.<domain>` (the policy TXT) or `_smtp._tls.<domain>` (the TLS-RPT
 * TXT). `undefined` when all fit, i.e. for domains of up to 242 characters.
 */
export function tooLongTenantName (domain: string): string | undefined {
  for (const prefix of PREFIXES) {
    const name = prefix + domain
    if (name.length > MAX_DNS_NAME) return name
  }
  return undefined
}
