import { foldHostName, normalizeHostName, type HostNameResult } from '../domain/host-name.js'

/**
 * Validate and normalise an RFC 8461 `mx` pattern: a host name, or `*.` and a
 * host name (the wildcard stands for exactly one left-most label).
 */
export function normalizeMxPattern (input: string): HostNameResult {
  const pattern = input.trim()
  const wildcard = pattern.startsWith('*.')
  const rest = wildcard ? pattern.slice(2) : pattern
  if (rest.includes('*')) {
    return { ok: false, reason: 'may only use a wildcard as the whole left-most label ("*.example.net")' }
  }
  const host = normalizeHostName(rest)
  if (!host.ok) return host
  return { ok: true, value: wildcard ? `*.${host.value}` : host.value }
}

/**
 * Does `host` (normalised, A-labels) match `pattern` by RFC 8461 section 4.1?
 * `*.example.net` matches `a.example.net` only: not `example.net`, not `a.b.example.net`.
 */
export function mxMatches (pattern: string, host: string): boolean {
  const name = foldHostName(host)
  if (!pattern.startsWith('*.')) return pattern === name
  const dot = name.indexOf('.')
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2)
}
