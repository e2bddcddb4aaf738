import { readFileSync } from 'node:fs'
import { Agent } from 'node:https'
import * as acme from 'acme-client'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { AcmeSettings } from '../config/types.js'
import { encodeTlsAlpnChallenge } from './tls-alpn-challenge.js'
import { acmeAccountKeys, acmeAccountLockName, acmeOrdersKey, acmePendingOrderKey, acmeOrdersLockName, httpChallengeKey, tlsAlpnChallengeKey } from '../store/keys.js'
import type { Store } from '../store/store.js'
import { errors } from '../errors.js'
import type { CertifiedKey } from '../tls/certified-key.js'
import type { FailureKind, IssuanceError, IssuedCertificate, Issuer, RenewalWindow } from '../tls/issuer.js'
import type { AcmeCrypto } from './acme-crypto.js'
import { installAcmeHttpClient, type AcmeHttpAnswer, type AcmeHttpClient, type AcmeRequestScope } from './acme-http-client.js'
import { ariCertId } from './ari.js'
import { NoncePool } from './nonce-pool.js'
import { OrderBudget } from './order-budget.js'
import { withParsedAccountKey } from './with-parsed-account-key.js'
import { WorkerAcmeCrypto } from './worker-acme-crypto.js'

/** Options of {@link AcmeIssuer}. */
export interface AcmeIssuerOptions {
  readonly settings: AcmeSettings
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  /** Called for every new order placed, for metrics. */
  readonly onOrder?: (host: string) => void
  /** Builds keys, CSRs and challenge certificates; default: a {@link WorkerAcmeCrypto}, closed with the issuer. */
  readonly crypto?: AcmeCrypto
}

interface RequestContext {
  retryAfter?: Date
  /** The last HTTP error answer from the CA: status and problem document (RFC 7807) when there is one. */
  lastHttp?: { status: number; url: string; type?: string; detail?: string }
  /** The last answer was not JSON where the protocol wants JSON (all but certificate downloads). */
  lastNotJson?: boolean
  /** The transport error of the last failed request (acme-client replaces it with a TypeError). */
  networkError?: Error & { code?: string }
}

/** The problem type (RFC 8555 §7.3.3) of a request signed with an account the CA does not know. */
const ACCOUNT_DOES_NOT_EXIST = 'urn:ietf:params:acme:error:accountDoesNotExist'

/**
 * Obtains certificates over ACME (RFC 8555) with acme-client. One account
 * per directory, created once under a store lock and reused (key 0600 in the
 * store). Challenge answers are written to the store before the CA is asked
 * to validate, so every instance sharing the store can answer them. Orders
 * are counted against an {@link OrderBudget}. Rate-limit answers are not
 * waited out inside the request: the error carries the CA's Retry-After so
 * the scheduler retries that host later while others go on.
 */
export class AcmeIssuer implements Issuer {
  readonly name = 'acme'
  readonly mode = 'queued'
  readonly budget: OrderBudget
  /** Builds this issuer's keys and CSRs off the serving thread; the TLS-ALPN-01 responder shares it. */
  readonly crypto: AcmeCrypto
  readonly #opts: AcmeIssuerOptions
  readonly #http: AcmeHttpClient
  readonly #agent: Agent | undefined
  readonly #origin: string
  readonly #nonces: NoncePool
  #client: Promise<acme.Client> | undefined
  #directory: Promise<Record<string, unknown>> | undefined

  constructor (opts: AcmeIssuerOptions) {
    this.#opts = opts
    const { settings, clock } = opts
    // Counted in the store, so replicas sharing it (and the account) share the CA's limit.
    this.budget = new OrderBudget(settings.maxOrders, settings.orderWindow * 1000, clock, {
      store: opts.store,
      key: acmeOrdersKey(settings.directory),
      lock: acmeOrdersLockName(settings.directory),
    })
    this.#origin = new URL(settings.directory).origin
    this.#nonces = new NoncePool(clock)
    this.crypto = opts.crypto ?? new WorkerAcmeCrypto()
    this.#agent = settings.caFile ? new Agent({ ca: readFileSync(settings.caFile), keepAlive: true }) : undefined
    // Patches acme-client's process-wide axios the first time only; see acme-http-client.ts.
    this.#http = installAcmeHttpClient()
  }

  /** Run `fn` with this issuer's agent on requests to its CA, noting answers and transport errors in `ctx`. */
  #run<T> (ctx: RequestContext, fn: () => Promise<T>): Promise<T> {
    const scope: AcmeRequestScope = {
      origin: this.#origin,
      nonces: this.#nonces,
      ...(this.#agent ? { agent: this.#agent } : {}),
      onResponse: res => this.#noteResponse(ctx, res),
      onNetworkError: err => { ctx.networkError = err },
    }
    return this.#http.run(scope, fn)
  }

  #noteResponse (ctx: RequestContext, res: AcmeHttpAnswer): void {
    ctx.lastNotJson = typeof res.data !== 'object' && !String(res.headers['content-type'] ?? '').includes('pem-certificate-chain')
    if (res.status < 400) {
      delete ctx.lastHttp
      return
    }
    const problem = typeof res.data === 'object' && res.data !== null ? res.data as { type?: unknown; detail?: unknown } : {}
    ctx.lastHttp = {
      status: res.status,
      url: String(res.config?.url ?? ''),
      ...(typeof problem.type === 'string' ? { type: problem.type } : {}),
      ...(typeof problem.detail === 'string' ? { detail: problem.detail } : {}),
    }
    const header = res.headers['retry-after'] as string | undefined
    if (header === undefined || (res.status !== 429 && res.status !== 503)) return
    const seconds = Number(header)
    const at = Number.isFinite(seconds) ? this.#opts.clock.now().getTime() + seconds * 1000 : Date.parse(header)
    if (Number.isFinite(at)) ctx.retryAfter = new Date(at)
  }

  async obtain (host: string, opts: { replaces?: CertifiedKey } = {}): Promise<IssuedCertificate> {
    const ctx: RequestContext = {}
    return this.#run(ctx, async () => {
      try {
        return await this.#obtain(host, opts.replaces, ctx)
      } catch (err) {
        // acme-client's error only carries the problem's detail text: recognise the account by the answer's type.
        if (ctx.lastHttp?.type !== ACCOUNT_DOES_NOT_EXIST) throw classify(err as Error, ctx)
        // The CA forgot the account (a test CA restarted, or the account was deactivated): register again, once.
        this.#opts.logger.warn({ event: 'acme_account_lost', directory: this.#opts.settings.directory }, 'the CA does not know the stored ACME account: registering a new one')
        await this.#forgetAccount()
        try {
          return await this.#obtain(host, opts.replaces, ctx)
        } catch (again) {
          throw classify(again as Error, ctx)
        }
      }
    })
  }

  async #obtain (host: string, replaces: CertifiedKey | undefined, ctx: RequestContext): Promise<IssuedCertificate> {
    const { settings, store, logger } = this.#opts
    const client = await this.#account()
    const pendingKey = acmePendingOrderKey(settings.directory, host)
    const resumed = await this.#resume(client, host, pendingKey, ctx)
    let order: acme.Order
    let keyPem = resumed?.keyPem
    if (resumed !== undefined) {
      order = resumed.order
    } else {
      const replacesId = replaces && (await this.#directoryInfo()).renewalInfo ? ariCertId(replaces.certPem) : undefined
      await this.budget.take()
      this.#opts.onOrder?.(host)
      order = await client.createOrder({ identifiers: [{ type: 'dns', value: host }], ...(replacesId ? { replaces: replacesId } : {}) } as acme.Order)
      // Noted before anything else happens to the order: if this instance dies, the next lock holder picks it up.
      await store.put(pendingKey, JSON.stringify({ url: order.url }), { secret: true })
      logger.info({ event: 'acme_order', host, order: order.url, replaces: replacesId ?? null }, `ACME order placed for ${host}`)
    }
    if (order.status === 'pending' || order.status === 'ready') {
      for (const authz of await client.getAuthorizations(order)) {
        if (authz.status === 'valid') continue
        const challenge = settings.challenges.map(type => authz.challenges.find(c => c.type === type)).find(c => c !== undefined)
        if (!challenge) throw new errors.ACME_NO_USABLE_CHALLENGE(settings.challenges.join(', '), host)
        const keyAuthorization = await client.getChallengeKeyAuthorization(challenge)
        const key = challenge.type === 'http-01' ? httpChallengeKey(host, challenge.token) : tlsAlpnChallengeKey(host)
        // Stored before the CA is told to validate: any instance sharing the store can answer. The TLS-ALPN-01
        // certificate is made once here, not by each process the CA's validation handshakes reach.
        if (challenge.type === 'http-01') await store.put(key, keyAuthorization)
        else await store.put(key, encodeTlsAlpnChallenge({ keyAuthorization, certificate: await this.crypto.alpnCertificate(host, keyAuthorization) }), { secret: true })
        try {
          // A resumed order's challenge may already be under validation: asking again would be refused.
          if (challenge.status === 'pending') await client.completeChallenge(challenge)
          await client.waitForValidStatus(challenge)
        } catch (err) {
          await store.delete(pendingKey)
          throw withKind(new errors.ACME_VALIDATION_FAILED(challenge.type, host, (err as Error).message), 'validation')
        } finally {
          await store.delete(key)
        }
      }
      keyPem ??= await this.crypto.privateKey(settings.keyType)
      // The key is kept with the order before the CA binds the certificate to it, so a resumed order can still use it.
      await store.put(pendingKey, JSON.stringify({ url: order.url, keyPem }), { secret: true })
      order = await client.finalizeOrder(order, await this.crypto.certificateRequest(host, keyPem))
    }
    const certPem = await client.getCertificate(order)
    await store.delete(pendingKey)
    return { certPem, keyPem: keyPem as string }
  }

  /**
   * The order a previous holder of the host's issuance lock left behind (it died
   * or lost the lock), when the CA can still complete it; otherwise the record is
   * dropped and a new order is placed. A CA that cannot be reached keeps the record.
   */
  async #resume (client: acme.Client, host: string, pendingKey: string, ctx: RequestContext): Promise<{ order: acme.Order, keyPem?: string } | undefined> {
    const { store, logger } = this.#opts
    const raw = await store.get(pendingKey)
    if (raw === undefined) return undefined
    let saved: { url?: unknown, keyPem?: unknown } = {}
    try {
      saved = JSON.parse(raw.toString('utf8')) as typeof saved
    } catch {}
    const keyPem = typeof saved.keyPem === 'string' ? saved.keyPem : undefined
    let order: acme.Order | undefined
    let reason = 'unreadable record'
    if (typeof saved.url === 'string') {
      try {
        order = await client.getOrder({ url: saved.url } as acme.Order)
        reason = `order is ${order.status}`
      } catch (err) {
        if (ctx.lastHttp === undefined) throw err
        reason = `the CA answered HTTP ${ctx.lastHttp.status}`
      }
    }
    const usable = order !== undefined && (order.status === 'pending' || order.status === 'ready' ||
      ((order.status === 'processing' || order.status === 'valid') && keyPem !== undefined))
    if (!usable || order === undefined) {
      logger.info({ event: 'acme_order_dropped', host, order: typeof saved.url === 'string' ? saved.url : null, reason }, `not resuming the earlier ACME order for ${host}: ${reason}`)
      await store.delete(pendingKey)
      return undefined
    }
    logger.info({ event: 'acme_order_resumed', host, order: order.url, status: order.status }, `resuming the ACME order for ${host} that a stopped instance left ${order.status}`)
    return { order, ...(keyPem !== undefined ? { keyPem } : {}) }
  }

  renewalWindow (cert: CertifiedKey): Promise<RenewalWindow | undefined> {
    return this.#run({}, () => this.#renewalWindow(cert))
  }

  async #renewalWindow (cert: CertifiedKey): Promise<RenewalWindow | undefined> {
    const base = (await this.#directoryInfo()).renewalInfo
    const id = typeof base === 'string' ? ariCertId(cert.certPem) : undefined
    if (id === undefined) return undefined
    const res = await acme.axios.get(`${String(base).replace(/\/$/, '')}/${id}`, { validateStatus: () => true })
    if (res.status !== 200) throw withKind(new errors.ACME_RENEWAL_INFO_UNUSABLE(`answered HTTP ${res.status}`), 'malformed')
    const window = (res.data as { suggestedWindow?: { start?: string; end?: string } })?.suggestedWindow
    const start = Date.parse(String(window?.start))
    const end = Date.parse(String(window?.end))
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) throw withKind(new errors.ACME_RENEWAL_INFO_UNUSABLE('has no valid suggestedWindow'), 'malformed')
    const retry = Number(res.headers['retry-after'])
    return {
      start: new Date(start),
      end: new Date(end),
      ...(Number.isFinite(retry) && retry > 0 ? { retryAfter: new Date(this.#opts.clock.now().getTime() + retry * 1000) } : {}),
    }
  }

  /** Release the CA agent and the crypto worker (the shared HTTP client stays installed for other issuers). */
  async close (): Promise<void> {
    this.#agent?.destroy()
    await this.crypto.close()
  }

  #directoryInfo (): Promise<Record<string, unknown>> {
    this.#directory ??= acme.axios.get(this.#opts.settings.directory).then(res => {
      if (res.status !== 200 || typeof res.data !== 'object' || res.data === null || typeof (res.data as Record<string, unknown>).newOrder !== 'string') {
        throw withKind(new errors.ACME_DIRECTORY_UNUSABLE(this.#opts.settings.directory, res.status), 'malformed')
      }
      return res.data as Record<string, unknown>
    })
    this.#directory.catch(() => { this.#directory = undefined })
    return this.#directory
  }

  async #forgetAccount (): Promise<void> {
    this.#client = undefined
    await this.#opts.store.delete(acmeAccountKeys(this.#opts.settings.directory).meta)
  }

  #account (): Promise<acme.Client> {
    this.#client ??= this.#loadAccount()
    this.#client.catch(() => { this.#client = undefined })
    return this.#client
  }

  async #loadAccount (): Promise<acme.Client> {
    const { settings, store, logger } = this.#opts
    await this.#directoryInfo()
    const keys = acmeAccountKeys(settings.directory)
    const clientOptions = {
      directoryUrl: settings.directory,
      backoffMin: 500,
      backoffMax: 10_000,
      backoffAttempts: 12,
      ...(settings.eab ? { externalAccountBinding: { kid: settings.eab.kid, hmacKey: settings.eab.hmacKey } } : {}),
    }
    const unlock = await store.lock(acmeAccountLockName(settings.directory))
    try {
      const key = await store.get(keys.key)
      const meta = await store.get(keys.meta)
      if (key && meta) {
        const { url: accountUrl } = JSON.parse(meta.toString('utf8')) as { url: string }
        return withParsedAccountKey(new acme.Client({ ...clientOptions, accountKey: key, accountUrl }))
      }
      const accountKey = key ?? await acme.crypto.createPrivateEcdsaKey('P-256')
      if (!key) await store.put(keys.key, accountKey, { secret: true })
      const client = withParsedAccountKey(new acme.Client({ ...clientOptions, accountKey }))
      await client.createAccount({
        termsOfServiceAgreed: settings.termsOfServiceAgreed,
        ...(settings.email ? { contact: [`mailto:${settings.email}`] } : {}),
      })
      const accountUrl = client.getAccountUrl()
      await store.put(keys.meta, JSON.stringify({ url: accountUrl, directory: settings.directory, email: settings.email ?? null }))
      logger.info({ event: 'acme_account_created', directory: settings.directory, account: accountUrl }, 'ACME account created')
      return client
    } finally {
      await unlock()
    }
  }
}

const PROBLEM_KINDS: Readonly<Record<string, FailureKind>> = {
  rateLimited: 'rate_limited',
  rejectedIdentifier: 'rejected',
  unsupportedIdentifier: 'rejected',
  caa: 'rejected',
  unauthorized: 'rejected',
  externalAccountRequired: 'rejected',
  connection: 'validation',
  dns: 'validation',
  incorrectResponse: 'validation',
  tls: 'validation',
  malformed: 'malformed',
  badCSR: 'malformed',
}

/**
 * Attach `kind` and `retryAfter` to an ACME failure, from what the CA
 * actually answered (status and problem type) rather than from error text,
 * which acme-client reduces to the problem's detail. Errors without a code
 * (acme-client's) come back as `MTA_STS_ACME_FAILED` with the same message;
 * coded ones (ours, the store's, node's) keep theirs.
 */
function classify (err: IssuanceError, ctx: RequestContext): IssuanceError {
  const http = ctx.lastHttp
  let e = err as IssuanceError & { code?: string }
  if (ctx.networkError && err instanceof TypeError) {
    const cause = ctx.networkError as Error & { code?: string }
    e = withKind(new errors.ACME_UNREACHABLE(cause.code ?? cause.message, { cause }), 'network')
  } else if (e.message === '' || (http && /status code \d+/.test(e.message))) {
    e = http ? new errors.ACME_HTTP_ERROR(http.status, http.url, http.detail ? `: ${http.detail}` : '') : new errors.ACME_NO_REASON()
  } else if (typeof e.code !== 'string') {
    // acme-client's own errors (the CA's problem detail as message, or a parse error): same
    // message, kind and Retry-After as before, plus a stable code.
    e = new errors.ACME_FAILED(e.message, { cause: err })
    if (err.kind !== undefined) e.kind = err.kind
    if (err.retryAfter !== undefined) e.retryAfter = err.retryAfter
  }
  if (ctx.retryAfter && e.retryAfter === undefined) e.retryAfter = ctx.retryAfter
  if (e.kind !== undefined) return e
  const problem = http?.type?.replace('urn:ietf:params:acme:error:', '')
  if (http?.status === 429 || problem === 'rateLimited') e.kind = 'rate_limited'
  else if (problem !== undefined && PROBLEM_KINDS[problem] !== undefined) e.kind = PROBLEM_KINDS[problem]
  else if (http && http.status >= 500) e.kind = 'network'
  else if (http) e.kind = 'malformed'
  else if (err instanceof TypeError || err instanceof SyntaxError || ctx.lastNotJson === true) e.kind = 'malformed'
  else e.kind = 'other'
  return e
}

/** Attach a failure `kind` (for back-off and metrics) to a coded error. */
function withKind<E extends Error> (err: E, kind: FailureKind): E & IssuanceError {
  return Object.assign(err, { kind })
}
