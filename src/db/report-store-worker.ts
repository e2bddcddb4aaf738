import { parentPort, workerData } from 'node:worker_threads'
import { systemClock } from '../clock.js'
import { openSqliteReportStore } from './open-sqlite-report-store.js'
import type { ReportStoreCall, ReportStoreReply, WorkerReportStoreOptions } from './worker-report-store.js'

// Worker entry of WorkerReportStore: better-sqlite3 blocks while it writes and fsyncs, so the
// database lives on this thread and the serving thread only posts messages to it.
const options = workerData as WorkerReportStoreOptions
const port = parentPort as NonNullable<typeof parentPort>

try {
  const store = await openSqliteReportStore(options.database, { ...options, clock: systemClock })
  // One call at a time, in arrival order: SQLite has one writer anyway, and `close` then runs
  // only after every call posted before it.
  let queue: Promise<unknown> = Promise.resolve()
  port.on('message', (call: ReportStoreCall) => {
    const run = async (): Promise<unknown> => {
      switch (call.method) {
        case 'submit': return await store.submit({ ...call.input, bytes: Buffer.from(call.input.bytes) })
        case 'setAside': return await store.setAside({ ...call.input, bytes: Buffer.from(call.input.bytes) }, call.reason)
        case 'summarize': return await store.summarize(call.query)
        case 'problems': return await store.problems(call.limit)
        case 'counts': return await store.counts()
        case 'purge': return await store.purge()
        case 'close': await store.close(); return undefined
      }
    }
    queue = queue.then(run).then(
      result => {
        port.postMessage({ id: call.id, result } satisfies ReportStoreReply)
        if (call.method === 'close') port.close()
      },
      (error: unknown) => { port.postMessage({ id: call.id, error: error instanceof Error ? error.message : String(error) } satisfies ReportStoreReply) },
    )
  })
  port.postMessage({ id: 0, result: 'open' } satisfies ReportStoreReply)
} catch (error) {
  port.postMessage({ id: 0, error: error instanceof Error ? error.message : String(error) } satisfies ReportStoreReply)
  port.close()
}
