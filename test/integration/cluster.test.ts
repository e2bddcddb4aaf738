import { writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { openPostgresPool } from '../../src/postgres-pool.js'
import { createLogger } from '../../src/log.js'
import { httpChallengeKey } from '../../src/store/keys.js'
import { PostgresStore } from '../../src/store/postgres-store.js'
import { DEFAULT_LOCK_TTL_MS } from '../../src/store/store.js'
import { runCli, type Cli } from '../helpers/cli.js'
import { startHaproxy } from '../helpers/haproxy.js'
import { startPebble } from '../helpers/pebble.js'
import { startPostgres } from '../helpers/postgres.js'
import { distinctFreePorts } from '../helpers/server-process.js'
import { httpsFetch, replaceFile, tempDir } from '../helpers/service-harness.js'

// The cluster as operators run it, every part a real process: three replicas of the service (the
// CLI, `serve`) on one PostgreSQL, behind haproxy in TCP mode for the https and http ports, and
// Pebble validating its challenges through haproxy.

const DOMAINS = ['a.example', 'b.example', 'c.example', 'd.example', 'e.example', 'f.example']
const LATE = 'late.example'
const host = (domain: string): string => `mta-sts.${domain}`

interface Replica {
  readonly index: number
  readonly ports: { https: number, http: number, ops: number }
  readonly configFile: string
  cli: Cli
}

/** Every log line a replica printed, over all its runs. */
const everyLine = (replicas: Replica[], runs: Map<number, Cli[]>): { replica: number, line: Record<string, unknown> }[] =>
  replicas.flatMap(r => (runs.get(r.index) ?? []).flatMap(cli => cli.lines.map(line => ({ replica: r.index, line }))))

/** GET over plain HTTP from one port, with a Host header. */
function httpGet (port: number, path: string, hostHeader: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host: hostHeader }, agent: false }, res => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.setTimeout(5000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

/** Poll `pred` every 100 ms for at most `ms`. */
async function until (what: string, pred: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await Promise.resolve(pred()).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(100)
  }
}

t.test('three replicas behind haproxy on one PostgreSQL: one order per host, a killed lock holder, restarts and a rolling edit', async t => {
  const postgres = await startPostgres(t)
  const dir = await tempDir(t)
  const urlFile = join(dir, 'database.url')
  const databaseUrl = await postgres.createDatabase()
  await writeFile(urlFile, databaseUrl, { mode: 0o600 })
  const [frontHttps, frontHttp] = await distinctFreePorts(2) as [number, number]
  const pebble = await startPebble(t, { httpPort: frontHttp, tlsPort: frontHttps })
  const pebbleCa = join(dir, 'pebble-ca.pem')
  await writeFile(pebbleCa, pebble.caPem)

  const yaml = (r: Omit<Replica, 'cli'>, tenants: Record<string, string>): string => [
    'listen:',
    `  https: { host: "127.0.0.1", port: ${r.ports.https} }`,
    `  http: { host: "127.0.0.1", port: ${r.ports.http} }`,
    `  ops: { host: "127.0.0.1", port: ${r.ports.ops} }`,
    'check:',
    '  monitor: { interval: 0 }',
    `database: { url_file: ${JSON.stringify(urlFile)}, pool_size: 4 }`,
    'certificates:',
    '  issuer: acme',
    `  storage: ${JSON.stringify(join(dir, `store-${r.index}`))}`,
    '  acme:',
    `    directory: ${pebble.directoryUrl}`,
    '    email: hostmaster@example.net',
    '    terms_of_service_agreed: true',
    `    ca_file: ${JSON.stringify(pebbleCa)}`,
    '    challenges: [http-01]',
    'tenants:',
    ...Object.entries(tenants).map(([domain, mode]) => `  ${domain}: { mode: ${mode}, mx: [mx.${domain}] }`),
    '',
  ].join('\n')
  const tenants: Record<string, string> = Object.fromEntries(DOMAINS.map(d => [d, 'testing']))

  const runs = new Map<number, Cli[]>()
  const replicas: Replica[] = []
  for (let index = 0; index < 3; index++) {
    const [https, http, ops] = await distinctFreePorts(3) as [number, number, number]
    const base = { index, ports: { https, http, ops }, configFile: join(dir, `replica-${index}.yaml`) }
    await writeFile(base.configFile, yaml(base, tenants))
    replicas.push({ ...base, cli: undefined as unknown as Cli })
  }
  const start = (r: Replica): Cli => {
    r.cli = runCli(t, ['serve', '--config', r.configFile])
    runs.set(r.index, [...(runs.get(r.index) ?? []), r.cli])
    return r.cli
  }
  const [r0, r1, r2] = replicas as [Replica, Replica, Replica]
  await startHaproxy(t, [
    { name: 'https', port: frontHttps, servers: replicas.map(r => ({ port: r.ports.https, checkPort: r.ports.http })) },
    { name: 'http', port: frontHttp, servers: replicas.map(r => ({ port: r.ports.http, checkPort: r.ports.http })) },
  ])
  // Pebble waits, frozen, until every replica listens and haproxy has them all in rotation: a
  // validation the balancer cannot route yet would fail, and its retry would be a second order.
  pebble.pause()
  await Promise.all(replicas.map(r => start(r).waitFor(l => l.event === 'start', 60_000)))
  await sleep(1000)
  pebble.resume()

  const root = await pebble.rootPem()
  const servedBy = async (port: number, name: string): Promise<string | undefined> => {
    const res = await httpsFetch(port, name, { ca: root })
    return res.status === 200 ? res.peer?.fingerprint256 : undefined
  }
  await until('every replica serves every host with a certificate from Pebble', async () => {
    for (const r of replicas) for (const d of DOMAINS) if (await servedBy(r.ports.https, host(d)) === undefined) return false
    return true
  })

  t.test('every host was ordered once, in all, and every replica serves the same certificate', async t => {
    await sleep(200) // Pebble's log is read asynchronously.
    t.equal(pebble.orders(), DOMAINS.length, `${DOMAINS.length} orders for ${DOMAINS.length} hosts, ${replicas.length} replicas`)
    for (const d of DOMAINS) {
      const prints = new Set(await Promise.all(replicas.map(r => servedBy(r.ports.https, host(d)))))
      t.equal(prints.size, 1, `${host(d)}: one certificate on every replica`)
    }
    const orders = everyLine(replicas, runs).filter(l => l.line.event === 'acme_order')
    t.equal(orders.length, DOMAINS.length)
    const answers = everyLine(replicas, runs).filter(l => l.line.event === 'acme_challenge_answered')
    const byOther = answers.filter(a => orders.find(o => o.line.host === a.line.host)?.replica !== a.replica)
    t.ok(byOther.length > 0, `Pebble's validation through haproxy was answered by a replica that did not order, for ${byOther.length} of ${answers.length} challenges`)
  })

  t.test('a challenge stored by one replica is answered by each of them and through the balancer', async t => {
    const pool = await openPostgresPool({ urlFile, poolSize: 1 }, createLogger('silent'))
    t.teardown(() => pool.end())
    const store = await PostgresStore.open(pool)
    t.teardown(() => store.close())
    const token = 'Zm9yLWFueS1yZXBsaWNhLXRvLWFuc3dlcg'
    await store.put(httpChallengeKey(host('a.example'), token), `${token}.thumbprint`)
    for (const port of [...replicas.map(r => r.ports.http), frontHttp]) {
      const res = await httpGet(port, `/.well-known/acme-challenge/${token}`, host('a.example'))
      t.same(res, { status: 200, body: `${token}.thumbprint` }, `port ${port}`)
    }
  })

  // Senders fetch on a new connection each time, and retry once on a new connection when one fails.
  const fetches = { attempts: 0, firstFailures: 0, failures: [] as string[], bodies: new Map<string, Set<string>>() }
  let fetching = true
  const loop = (async () => {
    for (let i = 0; fetching && i < 50_000; i++) {
      const d = DOMAINS[i % DOMAINS.length] as string
      let res
      for (let attempt = 0; attempt < 2 && res === undefined; attempt++) {
        fetches.attempts++
        res = await httpsFetch(frontHttps, host(d), { ca: root }).catch((err: Error) => {
          if (attempt === 0) fetches.firstFailures++
          else fetches.failures.push(`${d}: ${err.message}`)
          return undefined
        })
      }
      if (res !== undefined && res.status !== 200) fetches.failures.push(`${d}: HTTP ${res.status}`)
      if (res?.status === 200) fetches.bodies.set(d, (fetches.bodies.get(d) ?? new Set()).add(res.body.toString()))
      await sleep(5)
    }
  })()

  t.test('kill -9 of the replica holding an order: another one completes that order within the lock lease', async t => {
    const before = pebble.orders()
    await replaceFile(r0.configFile, yaml(r0, { ...tenants, [LATE]: 'testing' }))
    const order = await r0.cli.waitFor(l => l.event === 'acme_order' && l.host === host(LATE), 30_000)
    // Pebble is frozen first, so the order stays where it was when its holder dies.
    pebble.pause()
    r0.cli.child.kill('SIGKILL')
    const killedAt = Date.now()
    await r0.cli.exit
    pebble.resume()
    for (const r of [r1, r2]) {
      await replaceFile(r.configFile, yaml(r, { ...tenants, [LATE]: 'testing' }))
      await r.cli.waitFor(l => l.event === 'reload', 20_000)
    }
    const done = await Promise.race([r1, r2].map(r => r.cli.waitFor(l => l.event === 'certificate_obtained' && l.host === host(LATE), DEFAULT_LOCK_TTL_MS + 30_000)))
    const took = Date.now() - killedAt
    t.ok(took < DEFAULT_LOCK_TTL_MS + 10_000, `completed ${took} ms after the kill (lease ${DEFAULT_LOCK_TTL_MS} ms)`)
    const resumed = everyLine(replicas, runs).find(l => l.line.event === 'acme_order_resumed' && l.line.host === host(LATE))
    t.equal(resumed?.line.order, order.order, 'the same ACME order, resumed')
    t.ok(done)
    await sleep(200)
    t.equal(pebble.orders(), before + 1, 'and no second order')
    await until('both live replicas serve it', async () => (await servedBy(r1.ports.https, host(LATE))) !== undefined && (await servedBy(r2.ports.https, host(LATE))) !== undefined)

    start(r0)
    await r0.cli.waitFor(l => l.event === 'start', 60_000)
    t.equal(await servedBy(r0.ports.https, host(LATE)), await servedBy(r1.ports.https, host(LATE)), 'the restarted replica serves the stored certificate')
    await sleep(200)
    t.equal(pebble.orders(), before + 1, 'without ordering again')
  })

  t.test('a config edit rolled out one replica at a time is served consistently by each', async t => {
    const testing = (await httpsFetch(r0.ports.https, host('a.example'), { ca: root })).body.toString()
    t.match(testing, /mode: testing/)
    const edited = { ...tenants, [LATE]: 'testing', 'a.example': 'enforce' }
    const bodies = async (): Promise<string[]> => Promise.all(replicas.map(async r => (await httpsFetch(r.ports.https, host('a.example'), { ca: root })).body.toString()))
    for (const [i, r] of replicas.entries()) {
      const reloads = r.cli.lines.filter(l => l.event === 'reload').length
      await replaceFile(r.configFile, yaml(r, edited))
      await until(`replica ${i} reloaded`, () => r.cli.lines.filter(l => l.event === 'reload').length > reloads, 20_000)
      const served = await bodies()
      t.same(served.map(b => /mode: (\w+)/.exec(b)?.[1]), replicas.map((_, j) => j <= i ? 'enforce' : 'testing'), `after replica ${i}: updated ones serve the edit, the others the last policy`)
    }
    const enforce = (await bodies())[0] as string
    t.same(await bodies(), [enforce, enforce, enforce], 'the same policy everywhere once rolled out')
    const ids = new Set(everyLine(replicas, runs).filter(l => l.line.event === 'policy_fetch' && l.line.tenant === 'a.example' && l.line.mode === 'enforce').map(l => l.line.policy_id))
    t.equal(ids.size, 1, `one policy id for it on every replica (${[...ids].join(', ')})`)
  })

  t.test('fetches through the balancer never failed while a replica was killed and restarted', async t => {
    fetching = false
    await loop
    t.same(fetches.failures, [], `${fetches.attempts} attempts, ${fetches.firstFailures} first attempts failed and were retried on a new connection`)
    t.ok(fetches.attempts > 100, 'the loop ran throughout')
    for (const d of DOMAINS) {
      const seen = [...(fetches.bodies.get(d) ?? [])].map(b => /mode: (\w+)/.exec(b)?.[1])
      t.ok(seen.length > 0 && seen.every(m => m === 'testing' || (d === 'a.example' && m === 'enforce')), `${d}: only the old or the new policy (${seen.join(', ')})`)
    }
  })
})
