import { createHash } from 'node:crypto'

/**
 * The policy id published in `_mta-sts` TXT: derived from the policy body, so
 * it changes exactly when the body changes. 32 hex characters (128 bits of
 * SHA-256), within the RFC's 1-32 alphanumerics.
 */
export function policyId (body: string): string {
  // The hex of the first 16 bytes, not a slice of the full hex: V8 keeps a slice's 64-character parent alive.
  return createHash('sha256').update(body, 'utf8').digest().toString('hex', 0, 16)
}
