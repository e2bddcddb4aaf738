/** One proposed `mx` pattern, and why it was chosen when it is a wildcard. */
export interface ProposedMxPattern {
  readonly pattern: string
  /** The MX hosts it covers (one for an exact name). */
  readonly covers: readonly string[]
  /** Why a wildcard is safe, or why hosts sharing a parent were not folded into one. */
  readonly why?: string
}

/** At least this many MX hosts must share a parent before it is folded into a wildcard. */
export const WILDCARD_MIN_HOSTS = 3

/** The name below the left-most label: `a.mx.example.net` -> `mx.example.net`. */
function parentOf (host: string): string {
  return host.slice(host.indexOf('.') + 1)
}

/**
 * Whether `*.<parent>` is narrow enough to propose: it must lie below the
 * registrable domain, so that it covers a mail cluster and not every host of
 * an organisation (`www`, `vpn`...). Without a public suffix list this is
 * judged conservatively: at least three labels (`mx.example.net`), four under
 * a country code with a short second level (`mx.example.co.uk`).
 */
export function isNarrowParent (parent: string): boolean {
  const labels = parent.split('.')
  const tld = labels.at(-1) as string
  const second = labels.at(-2) as string
  const ccSecondLevel = tld.length === 2 && second.length <= 3
  return labels.length >= (ccSecondLevel ? 4 : 3)
}

/**
 * `mx` patterns for MX hosts (normalised, by preference): each host by its
 * exact name, except where {@link WILDCARD_MIN_HOSTS} or more hosts share a
 * parent that {@link isNarrowParent} accepts: those become one `*.<parent>`
 * (which matches exactly one more label, so it covers each of them) at the
 * place of the first. Order follows the hosts.
 */
export function proposeMxPatterns (hosts: readonly string[]): ProposedMxPattern[] {
  const groups = new Map<string, string[]>()
  for (const host of hosts) {
    const parent = parentOf(host)
    groups.set(parent, [...(groups.get(parent) ?? []), host])
  }
  const patterns: ProposedMxPattern[] = []
  for (const [parent, members] of groups) {
    if (members.length < WILDCARD_MIN_HOSTS) {
      for (const host of members) patterns.push({ pattern: host, covers: [host] })
    } else if (isNarrowParent(parent)) {
      patterns.push({ pattern: `*.${parent}`, covers: members, why: `${members.length} MX hosts (${members.join(', ')}) share ${parent}, a name below the registrable domain: one wildcard also covers hosts added there later` })
    } else {
      members.forEach((host, i) => patterns.push({
        pattern: host,
        covers: [host],
        ...(i === 0 ? { why: `no wildcard for the ${members.length} hosts under ${parent}: it is (or may be) a registrable domain, and *.${parent} would match every host there` } : {}),
      }))
    }
  }
  return patterns
}
