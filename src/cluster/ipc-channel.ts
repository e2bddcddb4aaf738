import { errors } from '../errors.js'

/** One end of a message pipe: `process` in a worker, a cluster `Worker` in the primary, or an in-memory end in tests. */
export interface IpcPort {
  send (message: unknown): void
  onMessage (listener: (message: unknown) => void): void
}

/** What travels over an {@link IpcPort}: a request, its answer, or a notice that expects none. */
type Envelope =
  | { readonly ipc: 'request', readonly id: number, readonly type: string, readonly payload: unknown }
  | { readonly ipc: 'response', readonly id: number, readonly ok: boolean, readonly payload: unknown }
  | { readonly ipc: 'notice', readonly type: string, readonly payload: unknown }

/** Answers requests of one type; what it resolves with (or the message it rejects with) goes back. */
export type RequestHandler = (payload: unknown) => unknown

/** How long a request waits for its answer by default. */
export const IPC_TIMEOUT_MS = 5000

/**
 * Requests with ids and timeouts, and notices, over an {@link IpcPort}.
 * A request whose answer does not come within its timeout rejects with
 * `MTA_STS_IPC_TIMEOUT`; a handler that throws rejects the caller with
 * `MTA_STS_IPC_FAILED` carrying the handler's message. Messages that are
 * not envelopes (cluster's own) are ignored.
 */
export class IpcChannel {
  readonly #port: IpcPort
  readonly #handlers = new Map<string, RequestHandler>()
  readonly #noticeListeners = new Map<string, ((payload: unknown) => void)[]>()
  readonly #pending = new Map<number, { resolve (value: unknown): void, reject (error: Error): void, timer: NodeJS.Timeout }>()
  #nextId = 1

  constructor (port: IpcPort) {
    this.#port = port
    port.onMessage(message => { this.#receive(message) })
  }

  /** Answer requests of `type` with `handler`. */
  handle (type: string, handler: RequestHandler): void {
    this.#handlers.set(type, handler)
  }

  /** Call `listener` for every notice of `type`. */
  on (type: string, listener: (payload: unknown) => void): void {
    this.#noticeListeners.set(type, [...(this.#noticeListeners.get(type) ?? []), listener])
  }

  /** Send a notice (no answer expected). Dropped silently when the other end is gone. */
  notify (type: string, payload: unknown): void {
    this.#send({ ipc: 'notice', type, payload })
  }

  /** Ask the other end; resolves with its handler's answer. */
  request<T> (type: string, payload: unknown, timeoutMs = IPC_TIMEOUT_MS): Promise<T> {
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new errors.IPC_TIMEOUT(type, timeoutMs))
      }, timeoutMs)
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer })
      this.#send({ ipc: 'request', id, type, payload })
    })
  }

  /** Reject every request still waiting (the other end is gone). */
  close (): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer)
      pending.reject(new errors.IPC_FAILED('closed', 'the other process is gone'))
      this.#pending.delete(id)
    }
  }

  #send (envelope: Envelope): void {
    try {
      this.#port.send(envelope)
    } catch {
      // The channel closed (the other process exited): requests time out or are rejected by close().
    }
  }

  #receive (message: unknown): void {
    const envelope = message as Envelope | null
    if (typeof envelope !== 'object' || envelope === null || typeof envelope.ipc !== 'string') return
    if (envelope.ipc === 'response') {
      const pending = this.#pending.get(envelope.id)
      if (pending === undefined) return
      this.#pending.delete(envelope.id)
      clearTimeout(pending.timer)
      if (envelope.ok) pending.resolve(envelope.payload)
      else pending.reject(new errors.IPC_FAILED('request', String(envelope.payload)))
    } else if (envelope.ipc === 'notice') {
      for (const listener of this.#noticeListeners.get(envelope.type) ?? []) listener(envelope.payload)
    } else {
      void this.#answer(envelope)
    }
  }

  async #answer (request: Extract<Envelope, { ipc: 'request' }>): Promise<void> {
    const handler = this.#handlers.get(request.type)
    try {
      if (handler === undefined) throw new Error(`no handler for ${request.type}`)
      this.#send({ ipc: 'response', id: request.id, ok: true, payload: await handler(request.payload) })
    } catch (error) {
      this.#send({ ipc: 'response', id: request.id, ok: false, payload: (error as Error).message })
    }
  }
}

/**
 * Two connected in-memory ports, for tests: what one sends the other receives
 * on a later turn, cloned as `serialization: 'advanced'` would (structured clone).
 */
export function memoryPortPair (): [IpcPort, IpcPort] {
  const listeners: [((m: unknown) => void)[], ((m: unknown) => void)[]] = [[], []]
  const open = { value: true }
  const end = (mine: 0 | 1): IpcPort & { close (): void } => ({
    send (message) {
      if (!open.value) throw new Error('channel closed')
      const copy = structuredClone(message)
      setImmediate(() => { for (const l of listeners[mine === 0 ? 1 : 0]) l(copy) })
    },
    onMessage (listener) { listeners[mine].push(listener) },
    close () { open.value = false },
  })
  return [end(0), end(1)]
}
