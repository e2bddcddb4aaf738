import { domainToASCII } from 'node:url'

/**
 * Host names, in one place: every folder that compares or validates a host
 * name (configuration, policies, HTTP Host headers, TLS server names, MX
 * records) uses these, so that they all agree on what "the same host" means.
 */

/** Result of normalising a host name: the A-label form, or why it is invalid. */
export type HostNameResult = { ok: true; value: string } | { ok: false; reason: string }

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * A name {@link normalizeHostName} would return unchanged: at most 253 characters of two or more
 * lower-case LDH labels, the last not all digits. Configurations of 100,000 tenants are mostly such
 * names: one test each instead of a trim, a split and a test per label.
 */
const NORMAL_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?![0-9]+$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * Validate and normalise a DNS host name the way senders compare names: lower
 * case, no trailing dot, Unicode converted to A-labels (IDNA, punycode).
 * Requires at least two labels, each 1-63 LDH characters, 253 characters in all.
 */
export function normalizeHostName (input: string): HostNameResult {
  if (NORMAL_NAME.test(input)) return { ok: true, value: input }
  let name = input.trim()
  if (name.endsWith('.')) name = name.slice(0, -1)
  if (name === '') return { ok: false, reason: 'is empty' }
  // Characters first: "../../etc" is a path, not a name with an empty label.
  const invalid = name.match(/[\s/:@\\]/g)
  if (invalid) {
    const chars = [...new Set(invalid)].map(c => JSON.stringify(c)).join(', ')
    return { ok: false, reason: `has invalid characters (${chars}): it must be a bare host name (no scheme, port, path or spaces)` }
  }
  if (name.includes('..')) return { ok: false, reason: 'has an empty label' }
  // domainToASCII lower-cases and applies UTS-46; it returns '' for names it cannot map.
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(name) ? name.toLowerCase() : domainToASCII(name)
  if (ascii === '') return { ok: false, reason: 'is not a valid internationalised domain name' }
  if (ascii.length > 253) return { ok: false, reason: 'is longer than 253 characters' }
  const labels = ascii.split('.')
  if (labels.length < 2) return { ok: false, reason: 'needs at least two labels (like example.com)' }
  for (const label of labels) {
    if (label.length > 63) return { ok: false, reason: `has a label longer than 63 characters (${label.slice(0, 20)}...)` }
    if (!LABEL.test(label)) return { ok: false, reason: `has an invalid label "${label}" (letters, digits and inner hyphens only)` }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return { ok: false, reason: 'looks like an IP address, not a domain' }
  return { ok: true, value: ascii }
}

/**
 * The form in which an already-ASCII host name (an MX record's exchange, a
 * TLS server name) compares: lower case, without one trailing dot. No
 * validation; the null MX "." becomes ''.
 */
export function foldHostName (name: string): string {
  return name.toLowerCase().replace(/\.$/, '')
}

/**
 * Normalise a Host header or TLS server name to the form tenant hosts are
 * keyed by: lower case, no port, no trailing dot. Returns '' for values that
 * cannot be a tenant host (IPv6 literals, empty).
 */
export function hostKey (value: string | undefined): string {
  if (value === undefined || value === '' || value.startsWith('[')) return ''
  const colon = value.indexOf(':')
  return foldHostName(colon === -1 ? value : value.slice(0, colon))
}
