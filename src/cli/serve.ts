import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import closeWithGrace from 'close-with-grace'
import { formatProblem, loadConfig } from '../config/load-config.js'
import { limitHeapGrowth } from '../heap-settings.js'
import { createLogger } from '../log.js'
import { createService } from '../service.js'
import { INTERNAL_CA_CERT_KEY } from '../store/keys.js'
import type { Store } from '../store/store.js'
import type { CommandIo } from './validate.js'

/** Options of `serve`. */
export interface ServeOptions {
  readonly config: string
  readonly logLevel?: string
  /** Milliseconds SIGTERM may take before the process is killed (default 10 s). */
  readonly shutdownTimeoutMs?: number
  /** `--workers`: serve https and http from this many worker processes (absent: one process serves everything). */
  readonly workers?: number
}

/**
 * `serve --config FILE`: load the configuration (refusing an invalid one),
 * start the three listeners, reload on file edits and SIGHUP, and shut down
 * gracefully on SIGTERM/SIGINT. Resolves with an exit code only on failure
 * to start; afterwards the process lives until a signal.
 */
export async function serveCommand (opts: ServeOptions, io: CommandIo): Promise<number | undefined> {
  // Primary and workers alike: their heaps stay near their live objects (see heap-settings.ts).
  const heapGrowingPercent = limitHeapGrowth()
  // Loaded only with --workers: one process serving alone starts as fast as before.
  const { workers } = opts
  const cluster = workers === undefined ? undefined : { workers, ...await import('../cluster/cluster-process.js'), ...await import('../cluster/worker-pool.js') }
  if (cluster?.isClusterWorker() === true) {
    const { runClusterWorker, WORKER_LOG_LEVEL_ENV } = cluster
    // A worker reads no configuration: the primary sends what it serves.
    await runClusterWorker(createLogger(process.env[WORKER_LOG_LEVEL_ENV] ?? opts.logLevel ?? 'info').child({ pid: process.pid, worker: true }))
    return undefined
  }
  const result = await loadConfig(opts.config)
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`error: ${formatProblem(e)}\n`)
    io.stderr.write(`not starting: ${result.errors.length} error(s) in ${opts.config}\n`)
    return 1
  }
  const { config } = result
  const logger = createLogger(opts.logLevel ?? config.log.level)
  const refuse = (err: Error): number => {
    // A storage directory that cannot be written, a port in use...: one clear line, no stack trace.
    logger.fatal({ event: 'start_failed', error: err.message, code: (err as NodeJS.ErrnoException).code }, `not starting: ${err.message}`)
    logger.flush()
    io.stderr.write(`not starting: ${err.message}\n`)
    return 1
  }
  const level = opts.logLevel ?? config.log.level
  // With --workers the primary keeps the configuration, certificates, monitor and reports and listens on
  // ops; the workers serve https and http (cluster shares the ports between them).
  const pool = cluster === undefined ? undefined : new cluster.WorkerPool({
    size: cluster.workers,
    fork: () => cluster.forkClusterWorker(level),
    logger,
    // A worker late to stop is killed early enough for this process to finish its own shutdown in time.
    stopTimeoutMs: Math.max(1000, (opts.shutdownTimeoutMs ?? 10_000) - 4000),
  })
  let service: Awaited<ReturnType<typeof createService>>
  try {
    service = await createService(config, { logger, ...(pool === undefined ? {} : { workerMetrics: () => pool.metrics(), readinessDetails: () => ({ workers: pool.status() }), servingLoad: pool.load }) })
  } catch (err) {
    return refuse(err as Error)
  }
  let addresses: Awaited<ReturnType<typeof service.listen>>
  try {
    if (pool === undefined) addresses = await service.listen()
    else {
      // Issuance waits for the workers: an order's validation would otherwise meet closed https/http ports
      // (a failed validation, counted by the CA, and a retry minutes later).
      const { ops } = await service.listen(['ops'], { certificates: false })
      addresses = { ...await pool.start(service), ops }
      service.certificates.start()
    }
  } catch (err) {
    await pool?.close()
    await service.close()
    return refuse(err as Error)
  }

  // SIGHUP means reload here, not shutdown.
  closeWithGrace({ delay: opts.shutdownTimeoutMs ?? 10_000, skip: ['SIGHUP'], logger: { error: (m: string) => logger.error({ event: 'shutdown_timeout' }, m) } }, async ({ signal, err }) => {
    if (err) logger.error({ event: 'fatal', err }, 'shutting down after an unexpected error')
    else logger.info({ event: 'shutdown', signal }, `${signal ?? 'shutdown'}: finishing requests in flight`)
    // Workers first: they finish their requests and send their last statistics to this process.
    await pool?.close()
    await service.close()
    logger.info({ event: 'stopped' }, 'stopped')
    // Wait for the write in flight too: the synchronous flush at exit writes only what is still buffered.
    await new Promise<void>(resolve => { logger.flush(() => { resolve() }) })
  })
  process.on('SIGHUP', () => { void service.holder.reload('SIGHUP') })

  logger.info({
    event: 'start',
    config: config.file,
    tenants: config.tenants.length,
    issuer: config.certificates.issuer,
    ...(opts.workers === undefined ? {} : { workers: opts.workers }),
    heap_growing_percent: heapGrowingPercent ?? 'set by node flag',
    https: addresses.https,
    http: addresses.http,
    ops: addresses.ops,
  }, `serving ${config.tenants.length} tenant(s)`)

  const first = config.tenants[0]
  if (first) {
    const opsAuth = config.listen.ops.tokenFile === undefined ? '' : `-H "Authorization: Bearer $(cat ${config.listen.ops.tokenFile})" `
    const caPem = service.issuer.caCertificatePem?.()
    const trust = caPem === undefined ? '' : `--cacert ${await caCertificateFile(service.store, caPem)} `
    io.stderr.write(`\nmta-sts-host is serving ${config.tenants.length} tenant(s). Fetch a policy with:\n` +
      `  curl ${trust}--resolve ${first.host}:${addresses.https.port}:127.0.0.1 https://${first.host}:${addresses.https.port}/.well-known/mta-sts.txt\n` +
      `Health: curl http://127.0.0.1:${addresses.http.port}/readyz   Metrics: curl ${opsAuth}http://${config.listen.ops.host}:${addresses.ops.port}/metrics\n\n`)
  }
  return undefined
}

/**
 * A file holding the issuer's CA certificate `caPem`, for `curl --cacert`:
 * the store's own file when it keeps one per key (the file store), else a
 * copy written to the temp folder.
 */
export async function caCertificateFile (store: Store, caPem: string): Promise<string> {
  const stored = store.fileOf?.(INTERNAL_CA_CERT_KEY)
  if (stored !== undefined) return stored
  const file = join(tmpdir(), `mta-sts-host-ca-${process.pid}.crt`)
  await writeFile(file, caPem.trimEnd() + '\n')
  return file
}
