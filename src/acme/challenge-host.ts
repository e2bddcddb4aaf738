import { normalizeHostName } from '../domain/host-name.js'

/**
 * Whether the challenge answerers (the HTTP-01 route and the TLS-ALPN-01
 * responder) look up a challenge for `host` (already a {@link hostKey}): a
 * configured tenant host, or any well-formed `mta-sts.<domain>` name.
 *
 * The second case is for replicas: while a config edit that adds a tenant is
 * rolled out, the replica ordering its certificate may be the only one that
 * knows it yet, and the load balancer sends the CA's validation to any of them.
 * Answering is safe: the store only holds challenges this deployment's own
 * instances wrote, and a name that is not one costs one store read, then 404.
 */
export function isChallengeHost (host: string, isTenantHost: (host: string) => boolean): boolean {
  if (isTenantHost(host)) return true
  if (!host.startsWith('mta-sts.')) return false
  const name = normalizeHostName(host)
  return name.ok && name.value === host && host.split('.').length >= 3
}
