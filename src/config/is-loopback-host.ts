import { isIPv4, isIPv6 } from 'node:net'

/**
 * Whether a listen address only accepts connections from this machine:
 * `localhost`, 127.0.0.0/8, `::1` (in any spelling, IPv4-mapped 127.x too).
 * Wildcards (`::`, `0.0.0.0`), other addresses and other host names are not.
 */
export function isLoopbackHost (host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost') return true
  if (isIPv4(h)) return h.startsWith('127.')
  if (!isIPv6(h)) return false
  // The URL parser writes IPv6 canonically: ::1, and ::ffff:7fxx:xxxx for a mapped 127.x.y.z.
  const canonical = new URL(`http://[${h}]/`).hostname
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical)
}
