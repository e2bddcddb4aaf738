import t from 'tap'
import { CheckMonitor } from '../../src/check/monitor.js'
import { ManualClock } from '../../src/clock.js'
import { policyCheck } from '../../src/check/policy-check.js'
import type { Check, CheckContext, CheckResult, CheckRun } from '../../src/check/types.js'
import { createLogger } from '../../src/log.js'
import { buildSnapshot, type TenantSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { configFrom } from '../helpers/config-fixtures.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { makeReport } from '../helpers/report-store-contract.js'
import { preamble, replaceFile, startService, tempDir } from '../helpers/service-harness.js'

/** A stand-in for the MTA-STS TXT check. */
const stsTxt = (run: CheckRun): Check => ({ id: 'sts-txt', title: 'MTA-STS TXT', gatesEnforce: 'fail', run })

const tenants = (extra = ''): string => `tenants:
  example.com:
    mx: [mx.example.com]
  example.org:
    mode: none
    mx: [mx.example.org]
${extra}`

t.test('serve re-checks tenants on an interval, logs changes, exposes results; readiness does not care', async t => {
  const dir = await tempDir(t)
  const head = preamble(dir).replace('monitor: { interval: 0 }', 'monitor: { interval: 1, concurrency: 1 }')
  const runs = new Map<string, number>()
  let running = 0
  let peak = 0
  const flaky: CheckRun = async ctx => {
    running++
    peak = Math.max(peak, running)
    const n = (runs.get(ctx.tenant.domain) ?? 0) + 1
    runs.set(ctx.tenant.domain, n)
    await new Promise(resolve => setTimeout(resolve, 5))
    running--
    const status: CheckResult['status'] = ctx.tenant.domain === 'example.org' && n >= 2 ? 'fail' : 'pass'
    return [{ id: 'sts-txt', name: 'MTA-STS TXT', status, reason: status === 'pass' ? 'id matches' : 'published id differs' }]
  }
  const h = await startService(t, head + tenants(), { raw: true, deps: { checks: [stsTxt(flaky)], monitorTickMs: 20 } })
  const first = await h.waitForLog(l => l.event === 'check' && l.tenant === 'example.org', 10_000)
  t.match(first, { status: 'pass', ready_for_enforce: true })
  const changed = await h.waitForLog(l => l.event === 'check_changed' && l.tenant === 'example.org', 10_000)
  t.match(changed, { check: 'sts-txt', from: 'pass', to: 'fail', reason: 'published id differs', level: 'warn' })
  t.equal(peak, 1, 'concurrency bound respected')

  const checks = JSON.parse((await h.get('ops', '/checks')).body.toString()) as { monitor: boolean; domains: { domain: string; status: string; readyForEnforce: boolean }[] }
  t.equal(checks.monitor, true)
  t.same(checks.domains.map(d => [d.domain, d.status, d.readyForEnforce]).sort(), [['example.com', 'pass', true], ['example.org', 'fail', false]])
  const metrics = (await h.get('ops', '/metrics')).body.toString()
  t.match(metrics, 'mta_sts_check_status{tenant="example.org",check="sts-txt"} 2')
  t.match(metrics, 'mta_sts_check_status{tenant="example.com",check="sts-txt"} 0')
  t.match(metrics, 'mta_sts_tenant_ready_for_enforce{tenant="example.org"} 0')
  t.equal((await h.get('http', '/readyz')).status, 200, 'a failing tenant check does not touch readiness')

  // A removed tenant's results go away (mode none: dropped at once, no retirement); a new tenant gets checked.
  await replaceFile(h.configFile, head + tenants().replace('  example.org:\n    mode: none\n    mx: [mx.example.org]\n', '  example.net:\n    mx: [mx.example.net]\n'))
  await h.waitForLog(l => l.event === 'check' && l.tenant === 'example.net', 10_000)
  const after = JSON.parse((await h.get('ops', '/checks')).body.toString()) as { domains: { domain: string }[] }
  t.same(after.domains.map(d => d.domain).sort(), ['example.com', 'example.net'])
})

t.test('without the monitor, /checks says so', async t => {
  const h = await startService(t, tenants())
  t.same(JSON.parse((await h.get('ops', '/checks')).body.toString()), { monitor: false, domains: [] })
  t.equal(h.service.monitor, undefined)
})

t.test('in serve, the policy check knows the manager\'s renewal plan: the internal CA\'s 7-day certificate does not warn', async t => {
  const dns = await startDnsServer(t, { 'mta-sts.example.com': { A: ['127.0.0.1'] } })
  const dir = await tempDir(t)
  // check.expiry_warning_days stays at its default (14 days, more than the leaf lifetime).
  const head = preamble(dir).replace('monitor: { interval: 0 }', `monitor: { interval: 1 }\n  resolvers: ["${dns.address}"]`)
  let listening: (v: { port: number; ca: string }) => void = () => {}
  const started = new Promise<{ port: number; ca: string }>(resolve => { listening = resolve })
  const seen: CheckContext[] = []
  // The listener's port is only known once it listens: the real policy check, pointed at it.
  const policy: CheckRun = async ctx => {
    const { port, ca } = await started
    seen.push(ctx)
    return policyCheck.run({ ...ctx, httpsPort: port, ca })
  }
  const h = await startService(t, head + 'tenants:\n  example.com:\n    mx: [mx.example.com]\n', { raw: true, deps: { checks: [{ ...policyCheck, run: policy }], monitorTickMs: 20 } })
  listening({ port: h.addresses.https.port, ca: h.caPem })
  const first = await h.waitForLog(l => l.event === 'check' && l.tenant === 'example.com', 10_000)
  t.match(first, { status: 'pass', ready_for_enforce: true, reasons: [] })
  const ctx = seen[0]!
  t.equal(ctx.managedCertificates, true, 'the internal CA is managed')
  const plan = ctx.renewalPlan?.('mta-sts.example.com')
  t.same(plan, h.service.certificates.renewal('mta-sts.example.com'), 'the plan is the manager\'s')
  t.ok(plan && plan.renewAt.getTime() > Date.now(), 'not due yet')
})

t.test('in serve, the monitor runs the TLS reports check on the service\'s own report database', async t => {
  const dns = await startDnsServer(t, {})
  const dir = await tempDir(t)
  const head = preamble(dir).replace('monitor: { interval: 0 }', `monitor: { interval: 1 }\n  resolvers: ["${dns.address}"]\n  timeout_ms: 500`)
  const h = await startService(t, head + 'tenants:\n  example.com:\n    mx: [mx.example.com]\n', { raw: true, deps: { monitorTickMs: 20 } })
  const result = async (): Promise<{ status: string, reason: string } | undefined> => {
    const body = JSON.parse((await h.get('ops', '/checks')).body.toString()) as { domains: { domain: string, results: { id: string, status: string, reason: string }[] }[] }
    return body.domains.find(d => d.domain === 'example.com')?.results.find(r => r.id === 'tls-reports')
  }
  const until = async (ok: (r: Awaited<ReturnType<typeof result>>) => boolean): Promise<NonNullable<Awaited<ReturnType<typeof result>>>> => {
    const deadline = Date.now() + 15_000
    for (;;) {
      const r = await result()
      if (ok(r)) return r as NonNullable<typeof r>
      if (Date.now() > deadline) throw new Error(`tls-reports result not as expected in time: ${JSON.stringify(r)}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  t.equal((await until(r => r !== undefined)).status, 'warn', 'no reports yet: too few')
  const today = new Date().toISOString().slice(0, 10)
  for (const org of ['Google', 'Microsoft']) {
    const res = await h.fetch('mta-sts.example.com', { method: 'POST', path: '/tlsrpt', body: makeReport({ org, day: today, ok: 40 }), headers: { 'content-type': 'application/tlsrpt+json' } })
    t.equal(res.status, 201)
  }
  const pass = await until(r => r?.status === 'pass')
  t.match(pass.reason, /2 organi[sz]ations/)
})

t.test('changeTenants: the changes of a reload reach the schedule without a full sync, unless the schedule is behind', async t => {
  const snap = (...domains: string[]): TenantSnapshot => buildSnapshot(configFrom(['certificates: {issuer: internal}', 'tenants:', ...domains.map(d => `  ${d}: {mx: [mx.${d}]}`), ''].join('\n')))
  const checked: string[] = []
  const check: CheckRun = async ctx => {
    checked.push(ctx.tenant.domain)
    return [{ id: 'sts-txt', name: 'MTA-STS TXT', status: 'pass', reason: 'ok' }]
  }
  const a = snap('a.example')
  let current = a
  const monitor = new CheckMonitor({
    interval: 0.05, concurrency: 4, tickMs: 10, tenants: () => current, checks: [stsTxt(check)],
    logger: createLogger('silent'), context: tenant => ({ tenant, now: () => new Date() }) as unknown as CheckContext,
  })
  t.teardown(() => monitor.close())
  const b = snap('b.example')
  monitor.changeTenants(a, b, { added: ['b.example'], removed: ['a.example'] })
  monitor.start()
  const until = async (ok: () => boolean): Promise<void> => { while (!ok()) await new Promise(resolve => setTimeout(resolve, 5)) }
  await until(() => monitor.reports().length === 1)
  t.same(monitor.reports().map(r => r.domain), ['a.example'], 'ignored before the first schedule')
  current = b
  monitor.changeTenants(a, b, { added: ['b.example'], removed: ['a.example'] })
  await until(() => checked.includes('b.example'))
  t.same(monitor.reports().map(r => r.domain).filter(d => d === 'a.example'), [], "the removed tenant's report is gone")
  // A change based on a snapshot the schedule never saw is ignored; the tick syncs in full instead.
  const c = snap('c.example')
  current = c
  monitor.changeTenants(a, c, { added: [], removed: [] })
  await until(() => checked.includes('c.example'))
  await until(() => monitor.reports().every(r => r.domain === 'c.example'))
  t.pass('c checked, b dropped by the full sync')
})

t.test('when a tenant is due is read from the injected clock', async t => {
  const snapshot = buildSnapshot(configFrom('certificates: {issuer: internal}\ntenants:\n  a.example: {mx: [mx.a.example]}\n  b.example: {mx: [mx.b.example]}\n'))
  const runs: string[] = []
  const check = stsTxt(async ctx => {
    runs.push(ctx.tenant.domain)
    return [{ id: 'sts-txt', name: 'MTA-STS TXT', status: 'pass', reason: 'ok' }]
  })
  const clock = new ManualClock(new Date('2026-03-01T12:00:00Z'))
  const monitor = new CheckMonitor({
    interval: 3600, concurrency: 2, tickMs: 5, tenants: () => snapshot, checks: [check], clock,
    logger: createLogger('silent'), context: tenant => ({ tenant, now: () => clock.now() }) as unknown as CheckContext,
  })
  t.teardown(() => monitor.close())
  const ticks = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 60))
  const until = async (ok: () => boolean): Promise<void> => { while (!ok()) await new Promise(resolve => setTimeout(resolve, 5)) }
  monitor.start()
  await ticks()
  t.same(runs, [], 'new tenants are spread over the first minute of the clock, whatever the real time')
  clock.advance(60_000)
  await until(() => monitor.reports().length === 2)
  t.same([...runs].sort(), ['a.example', 'b.example'])
  t.same(monitor.reports().map(r => r.checkedAt), ['2026-03-01T12:01:00.000Z', '2026-03-01T12:01:00.000Z'])
  await ticks()
  t.equal(runs.length, 2, 'not again before the interval has passed on the clock')
  clock.advance(3600_000 * 0.85)
  await ticks()
  t.equal(runs.length, 2, 'not before 90% of the interval (the jitter)')
  clock.advance(3600_000 * 0.3)
  await until(() => runs.length === 4)
  t.pass('both re-checked once the clock passed the interval')
})
