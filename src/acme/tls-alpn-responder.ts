import { createSecureContext, createServer, type SecureContext, type Server } from 'node:tls'
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { hostKey } from '../domain/host-name.js'
import { errors } from '../errors.js'
import type { Store } from '../store/store.js'
import type { ClientHello } from '../tls/client-hello.js'
import { tlsAlpnChallengeKey } from '../store/keys.js'
import type { AcmeCrypto } from './acme-crypto.js'
import { decodeTlsAlpnChallenge } from './tls-alpn-challenge.js'

/** The ALPN protocol of TLS-ALPN-01 (RFC 8737). */
export const ACME_TLS_ALPN = 'acme-tls/1'

/**
 * Answers ACME TLS-ALPN-01 validation handshakes: for a connection that
 * offers only `acme-tls/1` with SNI naming a host `answersFor` accepts (see
 * `isChallengeHost`) that has a challenge in the store, presents the
 * self-signed challenge certificate carrying the acmeIdentifier extension, then closes. The certificate is
 * the one stored with the challenge (see {@link decodeTlsAlpnChallenge}), or for a record without one, made
 * by `crypto` (off the serving thread); contexts are cached per key authorization, since the CA validates
 * from several vantage points.
 */
export class TlsAlpnResponder {
  readonly #server: Server
  readonly #contexts = new Map<string, Promise<SecureContext>>()
  readonly #store: Pick<Store, 'get'>
  readonly #answersFor: (host: string) => boolean
  readonly #crypto: AcmeCrypto

  constructor (store: Pick<Store, 'get'>, answersFor: (host: string) => boolean, logger: Logger, crypto: AcmeCrypto) {
    this.#store = store
    this.#crypto = crypto
    this.#answersFor = answersFor
    this.#server = createServer({
      ALPNProtocols: [ACME_TLS_ALPN],
      SNICallback: (servername, cb) => {
        this.#context(hostKey(servername)).then(ctx => cb(null, ctx), (err: Error) => cb(err))
      },
    }, socket => {
      logger.info({ event: 'acme_challenge_answered', type: 'tls-alpn-01', host: socket.servername, client: socket.remoteAddress }, `answered TLS-ALPN-01 challenge for ${String(socket.servername)}`)
      socket.end()
    })
    this.#server.on('tlsClientError', () => {})
  }

  /** For {@link routeByClientHello}: take validation handshakes, leave everything else to the HTTPS server. */
  divert = (hello: ClientHello): ((socket: Socket) => void) | undefined => {
    if (hello.alpn.length !== 1 || hello.alpn[0] !== ACME_TLS_ALPN) return undefined
    return socket => { this.#server.emit('connection', socket) }
  }

  async #context (host: string): Promise<SecureContext> {
    if (!this.#answersFor(host)) throw new errors.ACME_NO_TLS_ALPN_CHALLENGE(host)
    const stored = (await this.#store.get(tlsAlpnChallengeKey(host)))?.toString('utf8')
    if (stored === undefined) throw new errors.ACME_NO_TLS_ALPN_CHALLENGE(host)
    const { keyAuthorization, certificate } = decodeTlsAlpnChallenge(stored)
    const cacheKey = `${host} ${keyAuthorization}`
    let context = this.#contexts.get(cacheKey)
    if (!context) {
      context = (async () => {
        const { keyPem, certPem } = certificate ?? await this.#crypto.alpnCertificate(host, keyAuthorization)
        return createSecureContext({ key: keyPem, cert: certPem, ALPNProtocols: [ACME_TLS_ALPN] } as Parameters<typeof createSecureContext>[0])
      })()
      // Keep only a handful: challenges are short-lived.
      if (this.#contexts.size > 64) this.#contexts.clear()
      this.#contexts.set(cacheKey, context)
      context.catch(() => this.#contexts.delete(cacheKey))
    }
    return context
  }
}
