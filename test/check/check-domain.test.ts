import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { ALL_CHECKS } from '../../src/check/all-checks.js'
import { checkDomain, checkDomains, worst } from '../../src/check/check-domain.js'
import type { Check, CheckContext, CheckResult, CheckRun, EnforceGate } from '../../src/check/types.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'

const result = (id: string, status: CheckResult['status']): CheckResult => ({ id, name: id.toUpperCase(), status, reason: `${id} is ${status}` })
const check = (id: string, gatesEnforce: EnforceGate, run: CheckRun): Check => ({ id, title: id.toUpperCase(), gatesEnforce, run })

function context (): CheckContext {
  const parsed = parseConfig('tenants:\n  example.com:\n    mx: [mx.example.com]\n', '/x.yaml')
  if (!parsed.ok) throw new Error('fixture')
  const tenant = buildSnapshot(parsed.config).tenants[0]!
  const fail = async (): Promise<never> => { throw new Error('no network in this test') }
  return {
    tenant,
    resolver: { resolveTxt: fail, resolveMx: fail, resolve4: fail, resolve6: fail, resolveCname: fail },
    timeoutMs: 100,
    httpsPort: 443,
    smtpPort: 25,
    expiryWarningDays: 14,
    managedCertificates: true,
    now: () => new Date('2026-11-28T00:00:00Z'),
  }
}

t.test('worst status', async t => {
  t.equal(worst('pass', 'warn'), 'warn')
  t.equal(worst('fail', 'warn'), 'fail')
  t.equal(worst('warn', 'pass'), 'warn')
})

t.test('verdict: ready only without failures and with MX coverage and MX TLS passing', async t => {
  // Each result from a stand-in of the real check that gives it (MX TLS results: `mx-tls:<host>`), with its gate.
  const gateOf = (id: string): EnforceGate => ALL_CHECKS.find(c => id === c.id || id.startsWith(`${c.id}:`))!.gatesEnforce
  const run = (results: CheckResult[]) => checkDomain(context(), results.map(r => check(r.id, gateOf(r.id), async () => [r])))
  const ready = await run([result('sts-txt', 'pass'), result('tlsrpt-txt', 'warn'), result('mx-tls:mx.example.com', 'pass')])
  t.match(ready, { domain: 'example.com', status: 'warn', readyForEnforce: true, reasons: [], checkedAt: '2026-11-28T00:00:00.000Z' })
  t.ok(Object.isFrozen(ready))
  const mxWarn = await run([result('mx-tls:mx.example.com', 'warn'), result('mx-coverage', 'pass')])
  t.same(mxWarn.reasons, ['MX-TLS:MX.EXAMPLE.COM: mx-tls:mx.example.com is warn'], 'an MX TLS warning blocks enforce')
  const coverageWarn = await run([result('mx-coverage', 'warn'), result('mx-tls:mx.example.com', 'pass')])
  t.match(coverageWarn, { status: 'warn', readyForEnforce: true, reasons: [] }, 'an unused mx pattern (the coverage check\'s only warning) does not block enforce')
  const coverageFail = await run([result('mx-coverage', 'fail')])
  t.same(coverageFail.reasons, ['MX-COVERAGE: mx-coverage is fail'], 'an uncovered MX blocks enforce')
  const failed = await run([result('sts-txt', 'fail'), result('policy', 'pass')])
  t.match(failed, { status: 'fail', readyForEnforce: false, reasons: ['STS-TXT: sts-txt is fail'] })
})

t.test('gatesEnforce: a result at least as bad as the gate blocks enforce, a failure always', async t => {
  const run = (gate: EnforceGate, status: CheckResult['status']) => checkDomain(context(), [check('x', gate, async () => [result('x', status)])])
  t.same((await run('warn', 'warn')).reasons, ['X: x is warn'])
  t.same((await run('warn', 'fail')).reasons, ['X: x is fail'])
  t.same((await run('warn', 'pass')).reasons, [])
  t.same((await run('fail', 'warn')).reasons, [])
  t.same((await run('fail', 'fail')).reasons, ['X: x is fail'])
})

t.test('checks run in parallel; a crashing check becomes a failure, the others still report', async t => {
  let running = 0
  let peak = 0
  const slow = (id: string): Check => check(id, 'fail', async () => {
    running++
    peak = Math.max(peak, running)
    await new Promise(resolve => setTimeout(resolve, 20))
    running--
    return [result(id, 'pass')]
  })
  const report = await checkDomain(context(), [slow('a'), check('boom', 'warn', async () => { throw new Error('kaput') }), slow('b')])
  t.equal(peak, 2, 'both slow checks ran at once')
  t.same(report.results.map(r => [r.id, r.status]), [['a', 'pass'], ['boom', 'fail'], ['b', 'pass']])
  t.match(report.results[1], { name: 'boom', reason: 'the check itself failed: kaput' })
  t.same(report.reasons, ['boom: the check itself failed: kaput'], 'a crashed check blocks enforce')
})

t.test('checkDomains keeps order and bounds concurrency', async t => {
  let running = 0
  let peak = 0
  const items = Array.from({ length: 9 }, (_, i) => i)
  const reports = await checkDomains(items, async i => {
    running++
    peak = Math.max(peak, running)
    await new Promise(resolve => setTimeout(resolve, 5 + (9 - i)))
    running--
    return { domain: `d${i}.example`, checkedAt: '', durationMs: 0, results: [], status: 'pass', readyForEnforce: true, reasons: [] }
  }, 3)
  t.same(reports.map(r => r.domain), items.map(i => `d${i}.example`))
  t.equal(peak, 3)
  t.same(await checkDomains([], async () => { throw new Error('never') }, 4), [])
})
