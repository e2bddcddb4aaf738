import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { IpcChannel, memoryPortPair } from '../../src/cluster/ipc-channel.js'
import { WorkerPool, type WorkerHandle } from '../../src/cluster/worker-pool.js'
import { NOTICES, WorkerServer } from '../../src/cluster/worker-server.js'
import { createLogger } from '../../src/log.js'
import { httpsFetch, replaceFile, startService, type Harness } from '../helpers/service-harness.js'
import { request as httpRequest } from 'node:http'

/** Poll `ok` every 50 ms for at most `ms`. */
async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await sleep(50)
  }
}

function get (port: number, path: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { host: 'mta-sts.a.example' } }, res => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

/** Workers in this process over in-memory channels: the same WorkerServer the worker processes run. */
function inProcessWorkers () {
  const servers = new Map<number, { server: WorkerServer, https?: AddressInfo, http?: AddressInfo, exit (code: number | null, signal: string | null): void }>()
  let nextPid = 1000
  const logger = createLogger('silent')
  const fork = (): WorkerHandle => {
    const [primaryPort, workerPort] = memoryPortPair()
    const channel = new IpcChannel(workerPort)
    const server = new WorkerServer({ channel, logger, statsIntervalMs: 50, shutdownGraceMs: 200, loadIntervalMs: 20 })
    const pid = nextPid++
    let onExit: (code: number | null, signal: string | null) => void = () => {}
    const entry: { server: WorkerServer, https?: AddressInfo, http?: AddressInfo, exit (code: number | null, signal: string | null): void } = {
      server,
      exit: (code, signal) => {
        servers.delete(pid)
        onExit(code, signal)
      },
    }
    servers.set(pid, entry)
    channel.on(NOTICES.stop, () => { void server.close().then(() => { entry.exit(0, null) }) })
    void server.start().then(async () => {
      const listen = server.snapshot!.config.listen
      const addresses = await server.listen(listen)
      Object.assign(entry, addresses)
      channel.notify(NOTICES.listening, addresses)
    })
    return {
      pid,
      port: primaryPort,
      onExit: listener => { onExit = listener },
      kill: () => { void server.close().then(() => { entry.exit(null, 'SIGKILL') }) },
    }
  }
  return { fork, servers }
}

t.test('the pool feeds workers the snapshot, reloads, certificates, readiness, reports, statistics and metrics', async t => {
  const workers = inProcessWorkers()
  const lines: Record<string, unknown>[] = []
  const clock = new ManualClock()
  let pool: WorkerPool | undefined
  const h: Harness = await startService(t, [
    'tenants:',
    '  a.example: { mode: testing, mx: [mx.a.example] }',
    '  b.example: { mode: testing, mx: [mx.b.example] }',
    '',
  ].join('\n'), { deps: { clock, workerMetrics: () => pool!.metrics(), readinessDetails: () => ({ workers: pool!.status() }) } })
  const poolLogger = createLogger('info', { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } as never)
  pool = new WorkerPool({ size: 2, fork: workers.fork, logger: poolLogger, restartDelayMs: 10, crashWindowMs: 60_000, stopTimeoutMs: 2000 })
  const addresses = await pool.start(h.service)
  t.teardown(() => pool!.close())
  t.equal(workers.servers.size, 2)
  const ports = () => [...workers.servers.values()].map(w => w.https!.port)
  t.equal(addresses.https.port, [...workers.servers.values()][0]!.https!.port)

  t.test('every worker serves every tenant over TLS with SNI', async t => {
    for (const port of ports()) {
      for (const host of ['mta-sts.a.example', 'mta-sts.b.example']) {
        const res = await httpsFetch(port, host, { ca: h.caPem })
        t.equal(res.status, 200)
        t.same(res.body, h.service.holder.snapshot.byHost.get(host)!.body)
      }
      await t.rejects(httpsFetch(port, 'mta-sts.unknown.example', { ca: h.caPem }))
    }
  })

  t.test('readiness on the workers\' http listener comes from the primary; ops lists the workers', async t => {
    const http = [...workers.servers.values()][0]!.http!.port
    t.same(await get(http, '/readyz'), { status: 200, body: '{"status":"ready","reasons":[]}' })
    const ops = JSON.parse((await h.get('ops', '/readyz')).body.toString()) as { workers: { workers: { pid: number }[], restarts: number } }
    t.equal(ops.workers.workers.length, 2)
    t.equal(ops.workers.restarts, 0)
  })

  t.test('ops /metrics adds the workers\' fetch counters', async t => {
    const text = (await h.get('ops', '/metrics')).body.toString()
    t.match(text, /mta_sts_policy_fetches_total\{tenant="a.example",status="200"\} 2\b/)
  })

  t.test('fetch statistics counted in the workers reach the primary\'s store', async t => {
    await until('statistics merged', async () => (await h.service.stats!.lastFetches()).has('a.example'))
    t.pass('a.example has a last fetch')
  })

  t.test('report uploads are forwarded to the primary\'s report sink', async t => {
    const res = await httpsFetch(ports()[0]!, 'mta-sts.a.example', { ca: h.caPem, method: 'POST', path: '/tlsrpt', body: Buffer.from('{"organization-name": "x"}'), headers: { 'content-type': 'application/tlsrpt+json' } })
    t.equal(res.status, 400)
    t.match(res.body.toString(), /kept, but not a valid TLS report/)
  })

  t.test('a reload reaches every worker: testing to enforce, and a new tenant with its certificate', async t => {
    const text = (await (await import('node:fs/promises')).readFile(h.configFile, 'utf8'))
      .replace('a.example: { mode: testing', 'a.example: { mode: enforce')
      .replace('tenants:\n', 'tenants:\n  c.example: { mode: testing, mx: [mx.c.example] }\n')
    await replaceFile(h.configFile, text)
    await h.service.holder.reload('test')
    const id = h.service.holder.snapshot.byHost.get('mta-sts.a.example')!.id
    await until('every worker has the new snapshot', () => [...workers.servers.values()].every(w => w.server.snapshot?.byHost.get('mta-sts.a.example')?.id === id && w.server.snapshot.byHost.has('mta-sts.c.example')))
    for (const port of ports()) {
      t.match((await httpsFetch(port, 'mta-sts.a.example', { ca: h.caPem })).body.toString(), /mode: enforce/)
      t.equal((await httpsFetch(port, 'mta-sts.c.example', { ca: h.caPem })).status, 200)
    }
  })

  t.test('the workers report their event-loop utilization: the pool\'s load, busy while they are saturated', async t => {
    await until('idle after the tests before', () => !pool!.load.busy())
    const from = lines.length
    // The in-process workers share this thread's event loop: keep it busy between their reports.
    for (let i = 0; i < 40 && !pool!.load.busy(); i++) {
      const end = performance.now() + 50
      while (performance.now() < end) { /* busy */ }
      await sleep(1)
    }
    t.ok(pool!.load.busy(), 'busy')
    await until('idle again', () => !pool!.load.busy())
    t.match(lines.slice(from).filter(l => l.event === 'serving_busy' || l.event === 'serving_idle').map(l => l.event), ['serving_busy', 'serving_idle'])
  })

  t.test('a worker that exits is replaced; one crashing in a loop waits longer each time', async t => {
    const [pid, first] = [...workers.servers.entries()][0]!
    await first.server.close()
    first.exit(1, null)
    await until('replaced', () => workers.servers.size === 2 && [...workers.servers.values()].every(w => w.https !== undefined))
    t.notOk(workers.servers.has(pid))
    t.match(lines.find(l => l.event === 'worker_exited'), { pid, code: 1 })
    t.equal(pool!.status().restarts, 1)
    const again = [...workers.servers.values()].at(-1)!
    await again.server.close()
    again.exit(null, 'SIGKILL')
    await until('replaced again', () => workers.servers.size === 2 && [...workers.servers.values()].every(w => w.https !== undefined))
    t.equal(pool!.status().restarts, 2)
    // A replacement serves the current snapshot.
    for (const port of ports()) t.match((await httpsFetch(port, 'mta-sts.a.example', { ca: h.caPem })).body.toString(), /mode: enforce/)
  })

  t.test('a renewed certificate makes every worker drop its context', async t => {
    t.ok([...workers.servers.values()].every(w => w.server.contexts > 0))
    clock.advance(6 * 86400_000)
    await h.service.certificates.check()
    await until('contexts dropped', () => [...workers.servers.values()].every(w => w.server.contexts < 3))
    t.pass('dropped')
  })

  t.test('close() stops every worker, which sends its last statistics first', async t => {
    const exitedBefore = lines.filter(l => l.event === 'worker_exited').length
    await pool!.close()
    t.equal(workers.servers.size, 0)
    t.equal(lines.filter(l => l.event === 'worker_exited').length, exitedBefore, 'stopping is not exiting unexpectedly')
  })
})

t.test('a worker that exits before it listens fails the start; one that does not stop is killed', async t => {
  const h = await startService(t, 'tenants:\n  a.example: { mode: testing, mx: [mx.a.example] }\n')
  let exit: (code: number | null, signal: string | null) => void = () => {}
  const [primaryPort] = memoryPortPair()
  const pool = new WorkerPool({ size: 1, logger: createLogger('silent'), fork: () => ({ pid: 1, port: primaryPort, onExit: l => { exit = l }, kill: () => {} }) })
  const starting = pool.start(h.service)
  exit(1, null)
  await t.rejects(starting, /exited before it listened \(code 1\)/)
  const killed: string[] = []
  const stubborn = new WorkerPool({ size: 1, logger: createLogger('silent'), stopTimeoutMs: 20, fork: () => ({ pid: 2, port: memoryPortPair()[0], onExit: () => {}, kill: signal => { killed.push(String(signal)) } }) })
  void stubborn.start(h.service)
  t.same(await stubborn.metrics(), [], 'a worker that does not answer is left out of the metrics')
  await stubborn.close()
  t.same(killed, ['SIGKILL'])
})
