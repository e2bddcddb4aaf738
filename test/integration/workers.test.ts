import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { runCli } from '../helpers/cli.js'
import { httpsFetch, preamble, replaceFile, tempDir, type FetchResult } from '../helpers/service-harness.js'

// Worker processes start through the TypeScript loader: slow on a busy machine. Bounded below.
t.setTimeout(300_000)

/** Bound of every fetch loop, in fetches and in time. */
const LOOP_FETCHES = 150
const LOOP_MS = 60_000
/** Bound of the rounds that wait for both workers to answer a host: rounds, and concurrent fetches in each. */
const ROUNDS = 40
const ROUND_FETCHES = 8

function get (port: number, path: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, res => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

const yaml = (dir: string, tenants: Record<string, string>): string => preamble(dir) + [
  'tenants:',
  ...Object.entries(tenants).map(([domain, mode]) => `  ${domain}: { mode: ${mode}, mx: [mx.${domain}] }`),
  '',
].join('\n')

t.test('serve --workers 2: every worker serves, reloads and new tenants reach all, a killed worker is replaced without a failed fetch, SIGTERM stops all', async t => {
  const dir = await tempDir(t)
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, yaml(dir, { 'a.example': 'testing', 'b.example': 'testing' }))
  const cli = runCli(t, ['serve', '--config', configFile, '--workers', '2'])
  const start = await cli.waitFor(l => l.event === 'start', 120_000)
  t.equal(start.workers, 2)
  t.equal(start.heap_growing_percent, 30, 'the serving processes limit their heap growth')
  const port = (start.https as { port: number }).port
  const ops = (start.ops as { port: number }).port
  const http = (start.http as { port: number }).port
  t.match(cli.stderr(), new RegExp(`--resolve mta-sts.a.example:${port}:127.0.0.1 https://mta-sts.a.example:${port}/`), 'the start banner names the workers\' port')
  const ca = await readFile(join(dir, 'store', 'internal-ca', 'ca.crt'), 'utf8')
  const started = cli.lines.filter(l => l.event === 'worker_started').map(l => l.pid as number)
  t.equal(new Set(started).size, 2)

  const fetch = (host: string): Promise<FetchResult> => httpsFetch(port, host, { ca })
  /** A sender: one retry on a new connection. */
  const senderFetch = async (host: string): Promise<FetchResult> => await fetch(host).catch(async () => await fetch(host))
  const servedBy = (host: string): Set<number> => new Set(cli.lines.filter(l => l.event === 'policy_fetch' && l.host === host && l.status === 200).map(l => l.pid as number))

  /** Fetches made per host, to compare with /metrics. */
  const made = new Map<string, number>()
  /**
   * Fetch `host` in rounds of concurrent new connections until both workers have answered it
   * (the workers accept connections themselves: which one does is up to the kernel). Bounded in
   * rounds; every answer must be a 200.
   */
  const fetchUntilBothServe = async (t: Test, host: string): Promise<void> => {
    for (let round = 0; round < ROUNDS && servedBy(host).size < 2; round++) {
      const answers = await Promise.all(Array.from({ length: ROUND_FETCHES }, async () => await fetch(host)))
      made.set(host, (made.get(host) ?? 0) + answers.length)
      t.same(answers.map(a => a.status), answers.map(() => 200))
      // Fetch lines are written by each worker's buffered log (flushed at least every 500 ms).
      await cli.waitFor(() => servedBy(host).size === 2, 1500).catch(() => {})
    }
    t.same([...servedBy(host)].sort(), [...started].sort(), `${host}: answered by both workers`)
  }

  t.test('both workers answer policy fetches over TLS with SNI, on new connections', async t => {
    await fetchUntilBothServe(t, 'mta-sts.a.example')
    await fetchUntilBothServe(t, 'mta-sts.b.example')
    await t.rejects(fetch('mta-sts.unknown.example'), 'unknown names are refused')
    t.same(await get(http, '/readyz'), { status: 200, body: '{"status":"ready","reasons":[]}' })
    const details = JSON.parse((await get(ops, '/readyz')).body) as { workers: { workers: { pid: number }[] } }
    t.same(details.workers.workers.map(w => w.pid).sort(), [...started].sort())
    for (const pid of started) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      t.ok(argv.includes('--max-semi-space-size=4'), `worker ${pid} runs with the small young generation: ${argv.join(' ')}`)
    }
  })

  t.test('ops /metrics counts the fetches the workers served', async t => {
    const text = (await get(ops, '/metrics')).body
    const count = Number(/mta_sts_policy_fetches_total\{tenant="a.example",status="200"\} (\d+)/.exec(text)?.[1])
    t.equal(count, made.get('mta-sts.a.example'), 'the fetches of a.example above, whichever worker served them')
  })

  t.test('an edit (testing to enforce, a new tenant) reaches every worker', async t => {
    await replaceFile(configFile, yaml(dir, { 'a.example': 'enforce', 'b.example': 'testing', 'c.example': 'testing' }))
    await cli.waitFor(l => l.event === 'reload' || l.event === 'config_reloaded', 30_000)
    // The diff travels to the workers after the reload line: wait until a new connection sees it.
    for (let i = 0; i < LOOP_FETCHES && !(await fetch('mta-sts.a.example')).body.toString().includes('mode: enforce'); i++) await sleep(100)
    const before = cli.lines.length
    const seen = new Set<string>()
    const enforcedBy = (): Set<number> => new Set(cli.lines.slice(before).filter(l => l.event === 'policy_fetch' && l.host === 'mta-sts.a.example' && l.mode === 'enforce').map(l => l.pid as number))
    for (let round = 0; round < ROUNDS && (round < 3 || enforcedBy().size < 2); round++) {
      for (const res of await Promise.all(Array.from({ length: ROUND_FETCHES }, async () => await fetch('mta-sts.a.example')))) seen.add(res.body.toString())
      if (round >= 2) await cli.waitFor(() => enforcedBy().size === 2, 1500).catch(() => {})
    }
    t.equal(seen.size, 1, 'every later fetch, whichever worker, sees the new policy')
    t.match([...seen][0], /mode: enforce/)
    t.same([...enforcedBy()].sort(), [...started].sort(), 'both workers served it')
    await fetchUntilBothServe(t, 'mta-sts.c.example')
  })

  t.test('kill -9 of a worker during a fetch loop: replaced, and no fetch fails', async t => {
    const victim = started[0] as number
    const failures: string[] = []
    let fetches = 0
    const deadline = Date.now() + LOOP_MS
    let killed = false
    while (fetches < LOOP_FETCHES && Date.now() < deadline) {
      if (fetches === 20) {
        process.kill(victim, 'SIGKILL')
        killed = true
      }
      const res = await senderFetch('mta-sts.b.example').catch((err: Error) => { failures.push(err.message); return undefined })
      if (res !== undefined && res.status !== 200) failures.push(`status ${res.status}`)
      fetches++
    }
    t.ok(killed)
    t.same(failures, [], `${fetches} fetches`)
    const exited = await cli.waitFor(l => l.event === 'worker_exited', 30_000)
    t.match(exited, { pid: victim, signal: 'SIGKILL' })
    await cli.waitFor(l => l.event === 'worker_started' && !started.includes(l.pid as number), 120_000)
    const details = JSON.parse((await get(ops, '/readyz')).body) as { workers: { workers: { pid: number }[], restarts: number } }
    t.equal(details.workers.workers.length, 2)
    t.equal(details.workers.restarts, 1)
    t.notOk(details.workers.workers.some(w => w.pid === victim))
  })

  t.test('SIGTERM stops the workers and the primary, exit code 0 within the shutdown timeout', async t => {
    cli.child.kill('SIGTERM')
    const { code } = await cli.exit
    t.equal(code, 0, cli.lines.filter(l => l.time !== undefined && (l.event !== 'policy_fetch')).slice(-12).map(l => `${String(l.time)} ${String(l.pid ?? '')} ${String(l.event)} ${String(l.msg)}`).join('\n'))
    // Exit code 0 is the bound: past the shutdown timeout (10 s) close-with-grace exits 1. A wall clock here would time the machine.
    t.ok(cli.lines.some(l => l.event === 'shutdown_timeout') === false, 'not cut off by the shutdown timeout')
    t.ok(cli.lines.some(l => l.event === 'stopped'))
    t.equal(cli.lines.filter(l => l.event === 'worker_stopping').length, 2)
  })
})

t.test('--workers takes a whole number from 1 to 64 or auto', async t => {
  const cli = runCli(t, ['serve', '--config', 'unused.yaml', '--workers', '0'])
  const { code } = await cli.exit
  t.equal(code, 1)
  t.match(cli.stderr(), /expected a whole number from 1 to 64, or auto/)
})
