import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { gzipSync } from 'node:zlib'
import { sql } from 'kysely'
import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { openSqliteDatabase } from '../../src/db/open-sqlite-database.js'
import { openSqliteReportStore } from '../../src/db/open-sqlite-report-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { FileStore } from '../../src/store/file-store.js'
import { startCrashProcess } from '../helpers/crash-process.js'
import { makeReport } from '../helpers/report-store-contract.js'
import { httpsFetch, preamble, tempDir } from '../helpers/service-harness.js'
import { transpiledCrashChild } from '../helpers/transpiled-child.js'

// Issue 9, point 4: kill -9 during a burst of report uploads loses no acknowledged report.

const ROUNDS = 5
const PER_ROUND = 200
const CONCURRENCY = 16

t.setTimeout(300_000)

t.test(`kill -9 during a burst of ${PER_ROUND} uploads, ${ROUNDS} times: every report answered 2xx is in the database after the restart`, async t => {
  const dir = await tempDir(t)
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, `${preamble(dir)}reports: {rate_limit: {max: 100000}}\ntenants:\n  example.com:\n    mx: [mx.example.com]\n`)
  const script = await transpiledCrashChild(t)
  const acknowledged = new Set<string>()
  let killedWithInFlight = 0
  for (let round = 0; round < ROUNDS; round++) {
    const child = startCrashProcess(t, ['serve', configFile], script)
    await child.waitFor(l => l.event === 'child_loaded')
    child.child.stdin?.write('go\n')
    const start = await child.waitFor(l => l.event === 'start', 60_000)
    const port = (start.https as { port: number }).port
    const ca = (await InternalCa.open({ store: new FileStore(join(dir, 'store')), clock: systemClock, leafLifetime: 86400 })).caPem
    let next = 0
    let inFlight = 0
    const killAt = 20 + Math.floor(Math.random() * (PER_ROUND - 40))
    const upload = async (): Promise<void> => {
      while (next < PER_ROUND) {
        const org = `R${round}-${next++}`
        inFlight++
        const res = await httpsFetch(port, 'mta-sts.example.com', {
          ca, method: 'POST', path: '/tlsrpt', body: gzipSync(makeReport({ org, day: '2026-11-29' })), headers: { 'content-type': 'application/tlsrpt+gzip' },
        }).catch(() => undefined)
        inFlight--
        if (res !== undefined && res.status >= 200 && res.status < 300) acknowledged.add(org)
      }
    }
    const workers = Array.from({ length: CONCURRENCY }, upload)
    while (next < killAt) await sleep(1)
    if (inFlight > 0) killedWithInFlight++
    await child.kill()
    await Promise.all(workers)
  }
  t.ok(acknowledged.size > ROUNDS * 20, `${acknowledged.size} uploads acknowledged before the kills`)
  t.ok(killedWithInFlight >= ROUNDS - 1, `killed with uploads in flight in ${killedWithInFlight} of ${ROUNDS} rounds`)

  // What a restart does first: open, migrate, parse what was stored but not parsed.
  const database = join(dir, 'store', 'reports.sqlite')
  const check = openSqliteDatabase(database)
  const integrity = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(check)
  t.same(integrity.rows, [{ integrity_check: 'ok' }], 'the database survived every kill')
  await check.destroy()
  const store = await openSqliteReportStore(database, { maxReportBytes: 1 << 20, rawRetentionDays: 90, retentionDays: 400, clock: systemClock })
  const days = await store.summarize({ days: 1, until: '2026-11-29' })
  const stored = new Set(days.flatMap(d => d.organizations))
  const lost = [...acknowledged].filter(org => !stored.has(org))
  t.same(lost, [], 'no acknowledged report lost')
  const counts = await store.counts()
  t.equal(counts.raw.received, undefined, 'nothing left unparsed')
  t.equal(counts.reports, stored.size, `${stored.size} reports stored (acknowledged or not), each once`)
  await store.close()
})
