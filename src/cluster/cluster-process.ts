import cluster from 'node:cluster'
import type { Logger } from 'pino'
import { servingExecArgv } from '../heap-settings.js'
import { IpcChannel, type IpcPort } from './ipc-channel.js'
import type { WorkerHandle } from './worker-pool.js'
import { NOTICES, WorkerServer } from './worker-server.js'

/** The environment variable that carries the log level to workers (they read no configuration file). */
export const WORKER_LOG_LEVEL_ENV = 'MTA_STS_WORKER_LOG_LEVEL'

/**
 * node:cluster's scheduling for this process: `none` (the workers accept connections
 * themselves) unless `NODE_CLUSTER_SCHED_POLICY` says otherwise (`rr`: the primary accepts
 * and hands each connection to a worker over IPC, which halved new-connection throughput).
 */
export function clusterSchedulingPolicy (env: NodeJS.ProcessEnv): number {
  return env.NODE_CLUSTER_SCHED_POLICY === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE
}

/** Fork a worker process running this same command (cluster shares the listening ports). */
export function forkClusterWorker (logLevel: string): WorkerHandle {
  // Frozen by node:cluster at the first setupPrimary/fork; later calls change nothing.
  cluster.schedulingPolicy = clusterSchedulingPolicy(process.env)
  // Snapshot entries and fetch batches are plain data; `advanced` also carries report bytes as they are.
  // Workers serve TLS: they get the small young generation (see heap-settings.ts) whatever started this process.
  cluster.setupPrimary({ serialization: 'advanced', execArgv: servingExecArgv(process.execArgv) })
  const worker = cluster.fork({ [WORKER_LOG_LEVEL_ENV]: logLevel })
  return {
    pid: worker.process.pid ?? 0,
    port: { send: message => { worker.send(message as object) }, onMessage: listener => { worker.on('message', listener) } },
    onExit: listener => { worker.once('exit', listener) },
    kill: signal => { worker.process.kill(signal) },
  }
}

/** Whether this process is a worker forked by {@link forkClusterWorker}. */
export function isClusterWorker (): boolean {
  return cluster.isWorker
}

/**
 * The body of a worker process: take the snapshot from the primary, listen
 * on https and http, and stop (finishing requests in flight) when the primary
 * says so, on SIGTERM/SIGINT, or when the primary is gone.
 */
export async function runClusterWorker (logger: Logger): Promise<void> {
  const port: IpcPort = {
    send: message => { process.send?.(message) },
    onMessage: listener => { process.on('message', listener) },
  }
  const channel = new IpcChannel(port)
  const server = new WorkerServer({ channel, logger })
  let stopping: Promise<void> | undefined
  const stop = (why: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ event: 'worker_stopping', reason: why }, `worker stopping: ${why}`)
      // Statistics go to the primary first, while it still listens; a gone primary fails them quickly.
      await server.close().catch(() => {})
      channel.close()
      // Bounded: a stdout nobody reads must not keep the worker from exiting (what is still buffered is written at exit).
      await Promise.race([new Promise<void>(resolve => { logger.flush(() => { resolve() }) }), new Promise<void>(resolve => setTimeout(resolve, 1000).unref())])
      process.disconnect?.()
      process.exit(0)
    })()
    return stopping
  }
  channel.on(NOTICES.stop, () => { void stop('primary stopping') })
  process.on('disconnect', () => { void stop('primary gone') })
  process.on('SIGTERM', () => { void stop('SIGTERM') })
  process.on('SIGINT', () => { void stop('SIGINT') })
  // A SIGHUP to the process group is for the primary, which reloads and sends the diff; by default it would end the worker.
  process.on('SIGHUP', () => {})
  try {
    await server.start()
    const listen = (server.snapshot as NonNullable<typeof server.snapshot>).config.listen
    channel.notify(NOTICES.listening, await server.listen(listen))
  } catch (err) {
    logger.fatal({ event: 'start_failed', error: (err as Error).message, code: (err as NodeJS.ErrnoException).code }, `worker not starting: ${(err as Error).message}`)
    await new Promise<void>(resolve => { logger.flush(() => { resolve() }) })
    process.exit(1)
  }
}
