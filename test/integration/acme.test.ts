import { X509Certificate } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { FileStore } from '../../src/store/file-store.js'
import { storeKey } from '../../src/store/keys.js'
import { splitBundle } from '../../src/tls/certificate-storage.js'
import { runCli } from '../helpers/cli.js'
import { freePort, startPebble, type Pebble } from '../helpers/pebble.js'
import { httpsFetch, replaceFile, startService, tempDir, type Harness } from '../helpers/service-harness.js'

interface Ports { https: number; http: number }

/** Configuration for a service that gets certificates from `pebble`. */
function acmeYaml (opts: { ports: Ports; store: string; caFile: string; pebble: Pebble; challenges: string[]; tenants: string[] }): string {
  return [
    'listen:',
    `  https: { host: "127.0.0.1", port: ${opts.ports.https} }`,
    `  http: { host: "127.0.0.1", port: ${opts.ports.http} }`,
    '  ops: { host: "127.0.0.1", port: 0 }',
    'certificates:',
    '  issuer: acme',
    `  storage: ${JSON.stringify(opts.store)}`,
    '  acme:',
    `    directory: ${opts.pebble.directoryUrl}`,
    '    email: hostmaster@example.net',
    '    terms_of_service_agreed: true',
    `    ca_file: ${JSON.stringify(opts.caFile)}`,
    `    challenges: [${opts.challenges.join(', ')}]`,
    'tenants:',
    ...opts.tenants.map(d => `  ${d}:\n    mx: [mx.${d}]`),
    '',
  ].join('\n')
}

async function ports (): Promise<Ports> {
  return { https: await freePort(), http: await freePort() }
}

/** Wait (bounded) until `pred` holds. */
async function until (what: string, pred: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Fetch the policy verifying the chain against Pebble's current root. */
async function fetchVerified (h: Harness, host: string, root: string) {
  const res = await httpsFetch(h.addresses.https.port, host, { ca: root })
  return res
}

const obtainedFor = (h: Harness, host: string) => () => h.logs.some(l => l.event === 'certificate_obtained' && l.host === host)

/** The most orders in flight at once, from the order of the `certificate_obtaining` and `_obtained`/`_failed` log lines. */
function maxInFlight (h: Harness): number {
  let now = 0
  let max = 0
  for (const l of h.logs) {
    if (l.event === 'certificate_obtaining') max = Math.max(max, ++now)
    else if (l.event === 'certificate_obtained' || l.event === 'certificate_failed') now--
  }
  return max
}

async function setup (t: Test, opts: { challenges: string[]; tenants: string[]; validity?: number; deps?: Record<string, unknown> }) {
  const p = await ports()
  const pebble = await startPebble(t, { httpPort: p.http, tlsPort: p.https, ...(opts.validity ? { certificateValidityPeriod: opts.validity } : {}) })
  const dir = await tempDir(t)
  const caFile = join(dir, 'pebble-ca.pem')
  await writeFile(caFile, pebble.caPem)
  const yaml = acmeYaml({ ports: p, store: join(dir, 'store'), caFile, pebble, challenges: opts.challenges, tenants: opts.tenants })
  return { p, pebble, dir, caFile, yaml }
}

for (const challenge of ['http-01', 'tls-alpn-01']) {
  t.test(`several tenants obtain certificates over ${challenge}, verified against Pebble's root`, async t => {
    const tenants = ['example.com', 'example.org', 'example.net']
    const { pebble, yaml } = await setup(t, { challenges: [challenge], tenants })
    const h = await startService(t, yaml, { raw: true, deps: { certificateCheckMs: 200 } })
    for (const d of tenants) await until(`certificate for ${d}`, obtainedFor(h, `mta-sts.${d}`))
    const root = await pebble.rootPem()
    for (const d of tenants) {
      const res = await fetchVerified(h, `mta-sts.${d}`, root)
      t.equal(res.status, 200, `mta-sts.${d} served over a chain to Pebble's root`)
      t.equal(res.peer?.subjectaltname, `DNS:mta-sts.${d}`)
      t.match(new X509Certificate(res.peer!.raw).publicKey.asymmetricKeyDetails, { namedCurve: 'prime256v1' }, 'ECDSA P-256')
    }
    const answered = h.logs.filter(l => l.event === 'acme_challenge_answered')
    t.ok(answered.length >= tenants.length, `${answered.length} challenges answered`)
    t.ok(answered.every(l => l.type === challenge), `all over ${challenge}`)
    t.equal(pebble.orders(), tenants.length, 'one order per tenant')
    t.equal(maxInFlight(h), 2, 'idle serving: certificates.acme.concurrency (2) orders at a time')
    const status = JSON.parse((await h.get('ops', '/certificates')).body.toString()) as { certificates: { host: string; state: string; next: { action: string } }[] }
    t.same(status.certificates.map(c => [c.state, c.next.action]), tenants.map(() => ['valid', 'renew']))
    const metrics = (await h.get('ops', '/metrics')).body.toString()
    t.match(metrics, `mta_sts_acme_orders_total ${tenants.length}`)
    t.match(metrics, 'mta_sts_certificates{state="valid"} 3')
    // Normal HTTPS traffic is untouched by the ALPN routing.
    t.equal((await h.get('http', '/readyz')).status, 200)
  })
}

t.test('while serving is busy, the service orders one certificate at a time, and all of them', async t => {
  const tenants = ['example.com', 'example.org', 'example.net', 'example.edu']
  const { pebble, yaml } = await setup(t, { challenges: ['tls-alpn-01'], tenants })
  let asked = 0
  const busy = { busy: () => { asked++; return true } }
  const h = await startService(t, yaml, { raw: true, deps: { certificateCheckMs: 200, servingLoad: busy } })
  for (const d of tenants) await until(`certificate for ${d}`, obtainedFor(h, `mta-sts.${d}`))
  t.equal(maxInFlight(h), 1, 'one order at a time')
  t.ok(asked >= tenants.length, `the certificate queue asked the serving load ${asked} times`)
  t.equal(pebble.orders(), tenants.length)
})

t.test('restart with valid certificates places no orders; a tenant added live gets one', async t => {
  const { pebble, yaml, dir } = await setup(t, { challenges: ['http-01'], tenants: ['example.com'] })
  const first = await startService(t, yaml, { raw: true, deps: { certificateCheckMs: 200 } })
  await until('first certificate', obtainedFor(first, 'mta-sts.example.com'))
  await first.service.close()
  const orders = pebble.orders()
  t.equal(orders, 1)
  // Same store (the YAML names it), new process state.
  const second = await startService(t, yaml, { raw: true, deps: { certificateCheckMs: 200 } })
  const root = await pebble.rootPem()
  await until('served from the store', async () => (await fetchVerified(second, 'mta-sts.example.com', root).catch(() => undefined))?.status === 200)
  await sleep(600)
  t.equal(pebble.orders(), orders, 'no new order after the restart')
  t.notOk(second.logs.some(l => l.event === 'certificate_obtaining'))
  // It serves the very certificate the first instance obtained and stored under the YAML's storage.
  const obtained = first.logs.find(l => l.event === 'certificate_obtained' && l.host === 'mta-sts.example.com')?.fingerprint
  t.type(obtained, 'string')
  const stored = await new FileStore(join(dir, 'store')).get(storeKey('certificates', 'acme', 'mta-sts.example.com.pem'))
  const storedPrint = stored === undefined ? undefined : new X509Certificate(splitBundle(stored.toString()).certPem).fingerprint256
  t.equal(storedPrint, obtained, 'stored in the configured storage')
  const served = await fetchVerified(second, 'mta-sts.example.com', root)
  t.equal(new X509Certificate(served.peer!.raw).fingerprint256, obtained, 'served after the restart')
  await replaceFile(second.configFile, yaml.replace('tenants:\n', 'tenants:\n  example.org:\n    mx: [mx.example.org]\n'))
  await until('certificate for the added tenant', obtainedFor(second, 'mta-sts.example.org'))
  t.equal((await fetchVerified(second, 'mta-sts.example.org', root)).status, 200)
  t.equal(pebble.orders(), orders + 1, 'exactly one more order')
})

t.test('short-lived certificates are renewed; with the CA down, serving goes on and retries back off', async t => {
  const { pebble, yaml } = await setup(t, { challenges: ['tls-alpn-01', 'http-01'], tenants: ['example.com'], validity: 9 })
  const h = await startService(t, yaml, { raw: true, deps: { certificateCheckMs: 100, certificateBackoffMs: [400, 800, 1600] } })
  await until('first certificate', obtainedFor(h, 'mta-sts.example.com'))
  const root = await pebble.rootPem()
  const before = new X509Certificate((await fetchVerified(h, 'mta-sts.example.com', root)).peer!.raw).fingerprint256
  // A third of 9 s left: renewed about 6 s in. On a slow machine the first fetch may already see a
  // renewed certificate, so wait for a renewal that logged a certificate other than the one fetched.
  const renewedAway = () => h.logs.find(l => l.event === 'certificate_renewed' && l.fingerprint !== before)
  await until('renewal', () => renewedAway() !== undefined, 20_000)
  const after = new X509Certificate((await fetchVerified(h, 'mta-sts.example.com', root)).peer!.raw).fingerprint256
  t.not(after, before, 'a new certificate is served')
  t.ok(h.logs.some(l => l.event === 'certificate_renewed' && l.fingerprint === after), 'the one served was logged as renewed before it was served')

  await pebble.stop()
  const fails = () => h.logs.filter(l => l.event === 'certificate_failed')
  await until('three failed renewals', () => fails().length >= 3, 20_000)
  const [f1, f2, f3] = fails()
  t.same([f1!.failures, f2!.failures, f3!.failures], [1, 2, 3])
  t.equal(f1!.serving_old, true, 'the old certificate keeps serving')
  t.equal(f1!.kind, 'network')
  t.equal(f1!.code, 'MTA_STS_ACME_UNREACHABLE', 'the log line carries the error code the README explains')
  const gap = (a: Record<string, unknown>, b: Record<string, unknown>) => Date.parse(String(b.time)) - Date.parse(String(a.time))
  t.ok(gap(f1!, f2!) >= 400, `second attempt waited the first back-off (${gap(f1!, f2!)} ms)`)
  t.ok(gap(f2!, f3!) >= 800, `third attempt waited the second back-off (${gap(f2!, f3!)} ms)`)
  const during = await fetchVerified(h, 'mta-sts.example.com', root)
  t.equal(during.status, 200, 'policy still served while the CA is down')
  t.equal((await h.get('http', '/readyz')).status, 200, 'still ready')
  const certs = JSON.parse((await h.get('ops', '/certificates')).body.toString()) as { certificates: { state: string; next: { action: string }; lastError: string }[] }
  t.match(certs.certificates[0], { state: 'failing', next: { action: 'retry' }, lastError: /ECONNREFUSED|connect/ })
  const metrics = (await h.get('ops', '/metrics')).body.toString()
  t.match(metrics, /mta_sts_certificate_failures_total\{kind="network"\} [3-9]/)

  await pebble.start()
  await until('recovered', () => h.logs.filter(l => l.event === 'certificate_renewed').length >= 2, 20_000)
  t.ok(h.logs.some(l => l.event === 'acme_account_lost'), 'the restarted CA forgot the account: registered again')
  const recovered = await fetchVerified(h, 'mta-sts.example.com', await pebble.rootPem())
  t.equal(recovered.status, 200, 'renewed again once the CA is back, chained to its new root')
})

t.test('two instances on one store: a challenge stored by one is answered by the other', async t => {
  const { pebble, p, dir, caFile } = await setup(t, { challenges: ['http-01'], tenants: [] })
  const store = join(dir, 'shared-store')
  const tenants = ['example.com', 'example.org']
  // A listens where Pebble validates but cannot reach any CA itself; B orders through the shared store.
  const yamlA = acmeYaml({ ports: p, store, caFile, pebble, challenges: ['http-01'], tenants }).replace(pebble.directoryUrl, 'https://127.0.0.1:1/dir')
  const yamlB = acmeYaml({ ports: await ports(), store, caFile, pebble, challenges: ['http-01'], tenants })
  const a = await startService(t, yamlA, { raw: true, deps: { certificateCheckMs: 200, certificateBackoffMs: [300] } })
  const b = await startService(t, yamlB, { raw: true, deps: { certificateCheckMs: 200 } })
  const root = await pebble.rootPem()
  for (const d of tenants) await until(`B obtained ${d}`, obtainedFor(b, `mta-sts.${d}`))
  const answeredByA = a.logs.filter(l => l.event === 'acme_challenge_answered').map(l => l.host)
  t.same([...new Set(answeredByA)].sort(), tenants.map(d => `mta-sts.${d}`).sort(), 'A answered the challenges B stored')
  t.notOk(b.logs.some(l => l.event === 'acme_challenge_answered'), 'B answered none (Pebble cannot reach it)')
  // A picks B's certificates up from the store on its next pass, without an order of its own.
  for (const d of tenants) await until(`A serves ${d}`, async () => (await fetchVerified(a, `mta-sts.${d}`, root).catch(() => undefined))?.status === 200)
  t.equal(pebble.orders(), tenants.length)
})

t.test('two instances on one store asked for the same hosts place exactly one order per host', async t => {
  const { pebble, p, dir, caFile } = await setup(t, { challenges: ['http-01'], tenants: [] })
  const store = join(dir, 'shared-store')
  const tenants = ['example.com', 'example.org', 'example.net']
  const yamlA = acmeYaml({ ports: p, store, caFile, pebble, challenges: ['http-01'], tenants })
  const yamlB = acmeYaml({ ports: await ports(), store, caFile, pebble, challenges: ['http-01'], tenants })
  const [a, b] = await Promise.all([
    startService(t, yamlA, { raw: true, deps: { certificateCheckMs: 200 } }),
    startService(t, yamlB, { raw: true, deps: { certificateCheckMs: 200 } }),
  ])
  const root = await pebble.rootPem()
  for (const d of tenants) {
    for (const h of [a, b]) await until(`${d} on both`, async () => (await fetchVerified(h, `mta-sts.${d}`, root).catch(() => undefined))?.status === 200)
  }
  t.equal(pebble.orders(), tenants.length, 'exactly one order per host across both instances')
  for (const d of tenants) {
    const fa = new X509Certificate((await fetchVerified(a, `mta-sts.${d}`, root)).peer!.raw).fingerprint256
    const fb = new X509Certificate((await fetchVerified(b, `mta-sts.${d}`, root)).peer!.raw).fingerprint256
    t.equal(fa, fb, `${d}: both serve the same certificate`)
  }
  const obtained = [...a.logs, ...b.logs].filter(l => l.event === 'certificate_obtained').length
  t.equal(obtained, tenants.length, 'each certificate obtained by one instance only')
})

t.test('serve --workers 2: issuance starts once the workers listen, so no validation meets a closed port', async t => {
  // Worker processes start through the TypeScript loader: seconds, long after Pebble would first validate.
  t.setTimeout(240_000)
  const tenants = ['example.com', 'example.org', 'example.net']
  const { pebble, dir, yaml } = await setup(t, { challenges: ['tls-alpn-01'], tenants })
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, yaml)
  const cli = runCli(t, ['serve', '--config', configFile, '--workers', '2'])
  const start = await cli.waitFor(l => l.event === 'start', 120_000)
  const listening = cli.lines.findIndex(l => l.event === 'start')
  for (const d of tenants) await cli.waitFor(l => l.event === 'certificate_obtained' && l.host === `mta-sts.${d}`, 60_000)
  t.same(cli.lines.filter(l => l.event === 'certificate_failed'), [], 'no order failed')
  t.equal(pebble.orders(), tenants.length, 'one order per tenant')
  t.ok(cli.lines.findIndex(l => l.event === 'acme_order') > listening, 'the first order was placed after the workers listened')
  const workers = new Set(cli.lines.filter(l => l.event === 'worker_started').map(l => l.pid))
  const answeredBy = new Set(cli.lines.filter(l => l.event === 'acme_challenge_answered').map(l => l.pid))
  t.ok([...answeredBy].every(pid => workers.has(pid)), 'the workers answered the challenges')
  const root = await pebble.rootPem()
  for (const d of tenants) {
    const res = await httpsFetch((start.https as { port: number }).port, `mta-sts.${d}`, { ca: root })
    t.equal(res.status, 200, `mta-sts.${d} served by a worker over a chain to Pebble's root`)
  }
  cli.child.kill('SIGTERM')
  t.equal((await cli.exit).code, 0)
})
