/** The failure result types RFC 8460 defines (an IANA registry: senders may send others). */
export const RESULT_TYPES: ReadonlySet<string> = new Set([
  'starttls-not-supported', 'certificate-host-mismatch', 'certificate-expired', 'certificate-not-trusted',
  'validation-failure', 'tlsa-invalid', 'dnssec-invalid', 'dane-required', 'sts-policy-fetch-error',
  'sts-policy-invalid', 'sts-webpki-invalid',
])
