/**
 * Normalise a Host header or TLS server name to the form tenant hosts are
 * keyed by: lower case, no port, no trailing dot. Returns '' for values that
 * cannot be a tenant host (IPv6 literals, empty).
 */
export function hostKey (value: string | undefined): string {
  if (value === undefined || value === '' || value.startsWith('[')) return ''
  let host = value
  const colon = host.indexOf(':')
  if (colon !== -1) host = host.slice(0, colon)
  if (host.endsWith('.')) host = host.slice(0, -1)
  return host.toLowerCase()
}
