import type { SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import { errors } from '../errors.js'
import { hostKey } from '../domain/host-name.js'

/** Node's `SNICallback`. */
export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void

/** Where the SecureContext of a tenant host comes from: the certificate manager, or a worker's own contexts. */
export interface ContextSource {
  context (host: string): SecureContext | Promise<SecureContext>
}

/**
 * The TLS server's SNICallback: the tenant's certificate for a configured
 * `mta-sts.<tenant>` name; for any other name the handshake is aborted, so
 * no certificate (and no tenant name) is shown to scanners.
 */
export function createSniCallback (isTenantHost: (host: string) => boolean, certificates: ContextSource, logger: Logger): SniCallback {
  return (servername, cb) => {
    const host = hostKey(servername)
    if (!isTenantHost(host)) {
      logger.debug({ event: 'tls_unknown_servername', servername }, 'handshake for an unknown server name refused')
      cb(new errors.UNKNOWN_SERVERNAME())
      return
    }
    const context = certificates.context(host)
    if (!(context instanceof Promise)) {
      cb(null, context)
      return
    }
    context.then(ctx => cb(null, ctx), (err: Error) => cb(err))
  }
}
