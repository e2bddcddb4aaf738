/**
 * The network a client address belongs to, as counted in fetch statistics: the `/24` of an IPv4
 * address, the `/48` of an IPv6 address (the usual size of one site's allocation), in CIDR notation.
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack listener reports IPv4 clients) is
 * counted as IPv4. The result for IPv6 is compressed like `2001:db8:1::/48`.
 */
export function clientNetwork (ip: string): string {
  const v4 = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
  const dot = v4.lastIndexOf('.')
  if (dot >= 0) return `${v4.slice(0, dot)}.0/24`
  const zone = ip.indexOf('%')
  const address = zone >= 0 ? ip.slice(0, zone) : ip
  const gap = address.indexOf('::')
  const head = (gap >= 0 ? address.slice(0, gap) : address).split(':').filter(x => x !== '')
  const groups = head.length >= 3 || gap < 0
    ? head.slice(0, 3)
    : [...head, ...fill(address.slice(gap + 2).split(':').filter(x => x !== ''), 8 - head.length)].slice(0, 3)
  const hex = groups.map(g => (Number.parseInt(g, 16) || 0).toString(16))
  while (hex.length > 0 && hex[hex.length - 1] === '0') hex.pop()
  return `${hex.join(':')}::/48`
}

/** The groups after `::`, preceded by the zero groups `::` stands for, `width` groups in all. */
function fill (tail: string[], width: number): string[] {
  return [...new Array<string>(Math.max(0, width - tail.length)).fill('0'), ...tail]
}
