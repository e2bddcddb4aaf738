import { PassThrough } from 'node:stream'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { dnsCommand } from '../../src/cli/dns.js'
import type { Check } from '../../src/check/types.js'
import { preamble, replaceFile, startService, tempDir } from '../helpers/service-harness.js'

const DAY = 86_400_000
const A = '  a.example: { mode: enforce, mx: [mx.a.example], max_age: 86400 }\n'
const B = '  b.example: { mode: testing, mx: [mx.b.example] }\n'
const body = (mode: string): string => `version: STSv1\r\nmode: ${mode}\r\nmx: mx.a.example\r\nmax_age: 86400\r\n`

function io (): { out: () => string, io: { stdout: PassThrough, stderr: PassThrough } } {
  const stdout = new PassThrough()
  let text = ''
  stdout.on('data', (c: Buffer) => { text += c.toString() })
  return { out: () => text, io: { stdout, stderr: new PassThrough() } }
}

t.test('a removed enforce tenant is served as mode none across a restart until max_age has passed, then dropped', async t => {
  const dir = await tempDir(t)
  // Now, not a fixed date: the internal CA dates its certificates by this clock.
  const start = new Date(Math.floor(Date.now() / 1000) * 1000)
  const clock = new ManualClock(start)
  const since = start.toISOString()
  const until = new Date(start.getTime() + DAY).toISOString()
  const config = (tenants: string): string => preamble(dir) + 'tenants:\n' + tenants
  const h = await startService(t, config(A + B), { raw: true, deps: { clock, retirementCheckMs: 20 } })
  t.equal((await h.fetch('mta-sts.a.example')).body.toString(), body('enforce'))
  const enforceId = h.service.holder.snapshot.byHost.get('mta-sts.a.example')?.id

  await replaceFile(h.configFile, config(B))
  await h.waitForLog(l => l.event === 'reload')
  const started = await h.waitForLog(l => l.event === 'retirement_started')
  t.match(started, { tenant: 'a.example', previous_mode: 'enforce', previous_id: enforceId, until, level: 'warn' })
  t.equal((await h.fetch('mta-sts.a.example')).body.toString(), body('none'), 'mode none, same mx and max_age')
  const status = JSON.parse((await h.get('ops', '/status')).body.toString()) as { tenants: Array<{ domain: string, retiring?: unknown, policy_id: string }> }
  const a = status.tenants.find(x => x.domain === 'a.example')
  t.same(a?.retiring, { since, until, previous_mode: 'enforce', previous_id: enforceId })

  const dns = io()
  t.equal(await dnsCommand(h.configFile, 'text', dns.io), 0)
  t.match(dns.out(), `a.example  mode=none  id=${a?.policy_id}  retiring until ${until}`, 'dns prints the retiring tenant')
  t.match(dns.out(), `_mta-sts.a.example  TXT  v=STSv1; id=${a?.policy_id}`)

  await h.service.close()
  const restarted = await startService(t, config(B), { raw: true, deps: { clock, retirementCheckMs: 20 } })
  t.equal((await restarted.fetch('mta-sts.a.example')).body.toString(), body('none'), 'still served after a restart')

  clock.advance(DAY)
  const reload = await restarted.waitForLog(l => l.event === 'reload' && l.reason === 'retirement ended')
  t.same(reload.removed, ['a.example'])
  await t.rejects(restarted.fetch('mta-sts.a.example'), 'dropped: handshake refused')
  t.notOk(restarted.service.certificates.status().some(c => c.host === 'mta-sts.a.example'), 'its certificate is no longer kept')
})

t.test('removing then re-adding a tenant in its retirement window serves its policy again at once', async t => {
  const dir = await tempDir(t)
  const config = (tenants: string): string => preamble(dir) + 'tenants:\n' + tenants
  const h = await startService(t, config(A + B), { raw: true })
  await replaceFile(h.configFile, config(B))
  await h.waitForLog(l => l.event === 'retirement_started')
  await replaceFile(h.configFile, config(A.replace('enforce', 'testing') + B))
  const cancelled = await h.waitForLog(l => l.event === 'retirement_cancelled')
  t.match(cancelled, { tenant: 'a.example', mode: 'testing' })
  t.equal((await h.fetch('mta-sts.a.example')).body.toString(), body('testing'))
  t.same(await h.service.store.list('retirements'), [], 'the record is gone from the store')
})

t.test('switching to enforce while the latest check says not ready logs a warning with the reasons, and applies', async t => {
  const dir = await tempDir(t)
  const head = preamble(dir).replace('monitor: { interval: 0 }', 'monitor: { interval: 1, concurrency: 1 }')
  const failing: Check = {
    id: 'mx-coverage',
    title: 'MX coverage',
    gatesEnforce: 'fail',
    run: async () => [{ id: 'mx-coverage', name: 'MX coverage', status: 'fail', reason: 'MX host mx2.b.example is not covered by the policy', hint: 'add it to mx' }],
  }
  const h = await startService(t, head + 'tenants:\n' + B, { raw: true, deps: { checks: [failing], monitorTickMs: 20 } })
  await h.waitForLog(l => l.event === 'check' && l.tenant === 'b.example', 10_000)
  await replaceFile(h.configFile, head + 'tenants:\n' + B.replace('testing', 'enforce'))
  const warning = await h.waitForLog(l => l.event === 'enforce_not_ready')
  t.match(warning, { tenant: 'b.example', level: 'warn', reasons: [/mx2\.b\.example/] })
  t.match(String(warning.msg), /switched to enforce, but its latest check .* says it is not ready/)
  t.equal(h.service.holder.snapshot.byHost.get('mta-sts.b.example')?.mode, 'enforce', 'the change is not blocked')
})
