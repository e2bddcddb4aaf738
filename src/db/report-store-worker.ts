import { parentPort, workerData } from 'node:worker_threads'
import { systemClock } from '../clock.js'
import { openSqliteReportStore } from './open-sqlite-report-store.js'
import type { ReportStoreCall, ReportStoreReply, WorkerReportStoreOptions } from './worker-report-store.js'

// Worker entry of WorkerReportStore: better-sqlite3 blocks while it writes and fsyncs, so the
// database lives on this thread and the serving thread only posts messages to it.
const options = workerData as WorkerReportStoreOptions
/** Most uploads stored with one commit. */
const MAX_BATCH = 64
const port = parentPort as NonNullable<typeof parentPort>

try {
  const store = await openSqliteReportStore(options.database, { ...options, clock: systemClock })
  // One call at a time, in arrival order: SQLite has one writer anyway, and `close` then runs
  // only after every call posted before it. Uploads that arrive while another call runs are
  // stored together, with one commit for all of them (group commit).
  let queue: Promise<unknown> = Promise.resolve()
  const submits: Array<ReportStoreCall & { method: 'submit' }> = []
  let flushQueued = false
  const reply = (call: ReportStoreCall, work: Promise<unknown>): Promise<void> => work.then(
    result => {
      port.postMessage({ id: call.id, result } satisfies ReportStoreReply)
      if (call.method === 'close') port.close()
    },
    (error: unknown) => { port.postMessage({ id: call.id, error: error instanceof Error ? error.message : String(error) } satisfies ReportStoreReply) },
  )
  const flush = async (): Promise<void> => {
    flushQueued = false
    const calls = submits.splice(0, MAX_BATCH)
    if (submits.length > 0) {
      flushQueued = true
      queue = queue.then(flush)
    }
    const outcomes = store.submitMany(calls.map(call => ({ ...call.input, bytes: Buffer.from(call.input.bytes) })))
    await Promise.all(calls.map(async (call, i) => { await reply(call, outcomes.then(all => all[i])) }))
  }
  port.on('message', (call: ReportStoreCall) => {
    if (call.method === 'submit') {
      submits.push(call)
      if (!flushQueued) {
        flushQueued = true
        queue = queue.then(flush)
      }
      return
    }
    const run = async (): Promise<unknown> => {
      switch (call.method) {
        case 'setAside': return await store.setAside({ ...call.input, bytes: Buffer.from(call.input.bytes) }, call.reason)
        case 'summarize': return await store.summarize(call.query)
        case 'problems': return await store.problems(call.limit)
        case 'counts': return await store.counts()
        case 'purge': return await store.purge()
        case 'addFetches': return await store.addFetches(call.batch)
        case 'fetchesFor': return await store.fetchesFor(call.domain, call.days, call.until)
        case 'lastFetches': return await store.lastFetches()
        case 'recordPolicyChanges': return await store.recordPolicyChanges(call.changes)
        case 'policyHistory': return await store.policyHistory(call.domain, call.limit)
        case 'latestPolicies': return await store.latestPolicies()
        case 'reportTotals': return await store.reportTotals(call.days, call.until)
        case 'close': await store.close(); return undefined
      }
    }
    queue = queue.then(async () => { await reply(call, run()) })
  })
  port.postMessage({ id: 0, result: 'open' } satisfies ReportStoreReply)
} catch (error) {
  port.postMessage({ id: 0, error: error instanceof Error ? error.message : String(error) } satisfies ReportStoreReply)
  port.close()
}
