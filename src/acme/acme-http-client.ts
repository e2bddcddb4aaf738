import { AsyncLocalStorage } from 'node:async_hooks'
import type { Agent } from 'node:https'
import * as acme from 'acme-client'
import axios, { AxiosHeaders, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios'
import type { NoncePool } from './nonce-pool.js'

/**
 * How long a request to the CA may take before it fails as a network error (milliseconds).
 * acme-client sets none: a CA that accepts a connection and never answers would hold the
 * order, and its slot of `certificates.acme.concurrency`, for ever.
 */
export const ACME_REQUEST_TIMEOUT_MS = 30_000

/** One answer of the CA, as the response interceptor sees it. */
export interface AcmeHttpAnswer {
  readonly status: number
  readonly headers: Record<string, unknown>
  readonly data?: unknown
  readonly config?: { readonly url?: string; readonly method?: string }
}

/**
 * What the requests of one issuer operation (an order, a renewalInfo fetch)
 * need from the shared HTTP client. A scope only applies to requests made in
 * the async call chain of {@link AcmeHttpClient.run}, so two issuers with
 * different `ca_file`s (or the same CA) never see each other's agent or
 * answers.
 */
export interface AcmeRequestScope {
  /** Origin of the issuer's ACME directory: only requests to it use `agent`. */
  readonly origin: string
  /** Agent that trusts the issuer's extra CA (`ca_file`); the default agent when undefined. */
  readonly agent?: Agent
  /**
   * Nonces from earlier answers of `origin`: a HEAD request for a new nonce is
   * answered from here when it has one, without asking the CA.
   */
  readonly nonces?: NoncePool
  /** Limit of each request to `origin` (default {@link ACME_REQUEST_TIMEOUT_MS}). */
  readonly timeoutMs?: number
  /** Every answer (success or HTTP error) received in the scope. */
  onResponse (answer: AcmeHttpAnswer): void
  /** The transport error of a request to `origin` that got no answer (acme-client replaces it with a TypeError). */
  onNetworkError (err: Error): void
}

/** acme-client's HTTP layer with this service's workarounds, shared by every issuer of the process. */
export interface AcmeHttpClient {
  /** Run `fn` with `scope` applying to every acme-client request made inside it (nested scopes: the innermost). */
  run<T> (scope: AcmeRequestScope, fn: () => Promise<T>): Promise<T>
}

/** Marks an axios instance as patched; `Symbol.for` so a second copy of this module finds it too. */
const INSTALLED = Symbol.for('mta-sts-host.acme-http-client')

/** acme-client's axios instance (typed from acme-client's CommonJS copy of axios' types). */
type AxiosInstance = typeof acme.axios
type Patched = AxiosInstance & { [INSTALLED]?: AcmeHttpClient }

/**
 * Install every acme-client workaround on its process-wide axios instance,
 * once: later calls return the same client and patch nothing again. acme-client
 * has a single axios instance for all its clients, so the patches are global;
 * what differs per issuer (the CA trust of `ca_file`, where failures are
 * noted) is looked up per request from the caller's {@link AcmeRequestScope}
 * and, for the agent, only for requests to the scope's own origin.
 *
 * The workarounds:
 * - acme-client's own retries (which sleep out Retry-After inside the request,
 *   holding a queue slot for minutes) are off: back-off is the scheduler's job.
 * - Requests to the issuer's CA use its agent (extra trusted CA) and time out
 *   ({@link ACME_REQUEST_TIMEOUT_MS}).
 * - A transport error is handed to the scope before acme-client, past its
 *   retries, turns it into "reading 'config'" of undefined.
 * - Every answer is handed to the scope, so failures are classified by the
 *   CA's status and problem type rather than by acme-client's error text.
 * - acme-client fetches a new nonce (HEAD newNonce) before every signed
 *   request and ignores the Replay-Nonce of the other answers: with a
 *   scope's `nonces`, those are kept and the HEAD is answered from them.
 *
 * `instance` is for tests; the default is acme-client's own.
 */
export function installAcmeHttpClient (instance: AxiosInstance = acme.axios): AcmeHttpClient {
  const patched = instance as Patched
  patched[INSTALLED] ??= install(patched)
  return patched[INSTALLED]
}

function install (instance: AxiosInstance): AcmeHttpClient {
  const scopes = new AsyncLocalStorage<AcmeRequestScope>()
  const defaults = instance.defaults as typeof instance.defaults & { acmeSettings?: { retryMaxAttempts: number } }
  if (defaults.acmeSettings) defaults.acmeSettings.retryMaxAttempts = 0
  const http = axios.getAdapter('http') as AxiosAdapter
  instance.interceptors.request.use(config => {
    const scope = scopes.getStore()
    if (scope === undefined || !config.url?.startsWith(scope.origin)) return config
    if (scope.agent) config.httpsAgent = scope.agent
    if (!(Number(config.timeout) > 0)) config.timeout = scope.timeoutMs ?? ACME_REQUEST_TIMEOUT_MS
    const pooled = config.method?.toLowerCase() === 'head' ? scope.nonces?.take() : undefined
    if (pooled !== undefined) {
      config.adapter = async (cfg: InternalAxiosRequestConfig): Promise<AxiosResponse> =>
        ({ data: '', status: 200, statusText: 'OK', headers: new AxiosHeaders({ 'replay-nonce': pooled }), config: cfg })
      return config
    }
    config.adapter = async (cfg: InternalAxiosRequestConfig) => {
      try {
        return await http(cfg)
      } catch (err) {
        if ((err as { response?: unknown }).response === undefined) scope.onNetworkError(err as Error)
        throw err
      }
    }
    return config
  })
  instance.interceptors.response.use(response => {
    const scope = scopes.getStore()
    if (scope) answered(scope, response as AcmeHttpAnswer)
    return response
  }, (error: { response?: AcmeHttpAnswer }) => {
    const scope = scopes.getStore()
    if (scope && error.response) answered(scope, error.response)
    return Promise.reject(error)
  })
  return Object.freeze({ run: <T>(scope: AcmeRequestScope, fn: () => Promise<T>): Promise<T> => scopes.run(scope, fn) })
}

const BAD_NONCE = 'urn:ietf:params:acme:error:badNonce'

/** Hand `answer` to the scope, and keep its nonce unless acme-client uses it itself. */
function answered (scope: AcmeRequestScope, answer: AcmeHttpAnswer): void {
  scope.onResponse(answer)
  const nonce = answer.headers['replay-nonce']
  if (scope.nonces === undefined || typeof nonce !== 'string' || nonce === '') return
  if (!String(answer.config?.url).startsWith(scope.origin)) return
  // acme-client takes the nonce of a HEAD newNonce answer and of a badNonce refusal (for its retry).
  if (answer.config?.method?.toLowerCase() === 'head') return
  if ((answer.data as { type?: unknown } | undefined)?.type === BAD_NONCE) return
  scope.nonces.add(nonce)
}
