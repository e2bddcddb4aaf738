import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { AcmeCrypto, AcmeCryptoJob, AcmeKeyType, AlpnCertificate } from './acme-crypto.js'
import { CRYPTO_WORKER_SOURCE } from './crypto-worker-source.js'

/** The nice value of the worker thread on Linux (0 normal .. 19 lowest): its work yields to serving threads. */
export const CRYPTO_THREAD_NICE = 10

type Pending = { resolve: (value: unknown) => void, reject: (error: Error) => void }

/** The worker's answer to call `id`. */
interface Reply {
  readonly id: number
  readonly result?: unknown
  readonly error?: string
}

/**
 * {@link AcmeCrypto} in a worker thread, so that building keys, CSRs and
 * challenge certificates does not take CPU time from policy serving on the
 * main thread, and on Linux runs at lower CPU priority ({@link CRYPTO_THREAD_NICE}). The worker starts with the first call, does not keep the
 * process alive while idle, and is terminated by {@link close}. A job's error
 * rejects that call with the same message; a worker that dies rejects the
 * calls in flight (`the ACME crypto worker stopped: …`) and the next call
 * starts a new one.
 */
export class WorkerAcmeCrypto implements AcmeCrypto {
  readonly #source: string
  readonly #pending = new Map<number, Pending>()
  #worker: Worker | undefined
  #next = 1
  #closed = false

  /** `source` (the worker's JavaScript) is for tests; the default is {@link CRYPTO_WORKER_SOURCE}. */
  constructor (source: string = CRYPTO_WORKER_SOURCE) {
    this.#source = source
  }

  async privateKey (keyType: AcmeKeyType): Promise<string> {
    return await this.#call({ kind: 'privateKey', keyType }) as string
  }

  async certificateRequest (host: string, keyPem: string): Promise<string> {
    return await this.#call({ kind: 'certificateRequest', host, keyPem }) as string
  }

  async alpnCertificate (host: string, keyAuthorization: string): Promise<AlpnCertificate> {
    return await this.#call({ kind: 'alpnCertificate', host, keyAuthorization }) as AlpnCertificate
  }

  /** Terminate the worker; calls in flight and later calls are rejected. */
  async close (): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#stopped(worker, 'closed')
    await worker?.terminate()
  }

  #call (job: AcmeCryptoJob): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('the ACME crypto worker is closed'))
    const worker = this.#worker ?? this.#start()
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      // An idle worker must not keep the process alive; one with a job in flight must.
      worker.ref()
      worker.postMessage({ id, job })
    })
  }

  #start (): Worker {
    const acmeClient = createRequire(import.meta.url).resolve('acme-client')
    const worker = new Worker(this.#source, { eval: true, workerData: { acmeClient, nice: CRYPTO_THREAD_NICE } })
    this.#worker = worker
    worker.on('message', (reply: Reply) => {
      const pending = this.#pending.get(reply.id)
      this.#pending.delete(reply.id)
      if (this.#pending.size === 0) worker.unref()
      if (reply.error === undefined) pending?.resolve(reply.result)
      else pending?.reject(new Error(reply.error))
    })
    worker.on('error', error => { this.#stopped(worker, error.message) })
    worker.on('exit', code => { this.#stopped(worker, `exit code ${code}`) })
    return worker
  }

  #stopped (worker: Worker | undefined, reason: string): void {
    if (worker === undefined || worker !== this.#worker) return
    this.#worker = undefined
    for (const pending of this.#pending.values()) pending.reject(new Error(`the ACME crypto worker stopped: ${reason}`))
    this.#pending.clear()
  }
}
