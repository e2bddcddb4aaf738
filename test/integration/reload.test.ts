import { open, rename, writeFile } from 'node:fs/promises'
import { Agent } from 'node:https'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { policyId } from '../../src/policy/policy-id.js'
import { preamble, replaceFile, startService, type Harness } from '../helpers/service-harness.js'

const tenants = (mode: string, extra = ''): string => `
tenants:
  example.com:
    mode: ${mode}
    max_age: 604800
    mx: [mx1.example.com]
${extra}`

const body = (mode: string): string => `version: STSv1\r\nmode: ${mode}\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n`

/** Poll the policy until it equals `expected`; resolves with the milliseconds it took, or rejects after `limitMs`. */
async function servedWithin (h: Harness, host: string, expected: string, limitMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < limitMs) {
    const res = await h.fetch(host).catch(() => undefined)
    if (res?.status === 200 && res.body.toString() === expected) return Date.now() - started
    await sleep(25)
  }
  throw new Error(`${host} did not serve the expected policy within ${limitMs} ms`)
}

t.test('an edit from testing to enforce is served within 2 s with its new id, and logged', async t => {
  const h = await startService(t, tenants('testing'))
  t.equal((await h.fetch('mta-sts.example.com')).body.toString(), body('testing'))
  const edited = Date.now()
  await replaceFile(h.configFile, preamble(h.dir) + tenants('enforce'))
  const ms = await servedWithin(h, 'mta-sts.example.com', body('enforce'), 2000)
  t.ok(ms <= 2000, `served after ${ms} ms`)
  const reload = await h.waitForLog(l => l.event === 'reload')
  t.same(reload.changed, [{ domain: 'example.com', id: [policyId(body('testing')), policyId(body('enforce'))], mode: ['testing', 'enforce'] }])
  t.same(reload.added, [])
  t.same(reload.removed, [])
  t.type(reload.duration_ms, 'number')
  t.ok(Date.parse(String(reload.time)) >= edited - 1000)
  const fetch = await h.waitForLog(l => l.event === 'policy_fetch' && l.mode === 'enforce')
  t.equal(fetch.policy_id, policyId(body('enforce')), 'fetch log carries the new id')
  // An in-place write (no rename) is picked up too.
  await writeFile(h.configFile, preamble(h.dir) + tenants('none'))
  await servedWithin(h, 'mta-sts.example.com', body('none'), 2000)
})

t.test('a bad edit keeps the last good configuration and shows in readiness', async t => {
  const h = await startService(t, tenants('testing'))
  const bad = preamble(h.dir) + tenants('enforced').replace('max_age: 604800', 'max_age: -1')
  await replaceFile(h.configFile, bad)
  const failed = await h.waitForLog(l => l.event === 'reload_failed')
  t.equal(failed.errors, 2)
  const errorLines = h.logs.filter(l => l.event === 'config_error').map(l => String(l.msg))
  t.equal(errorLines.length, 2)
  t.match(errorLines[0], /config\.yaml:\d+:\d+: tenants\."example\.com"\.mode must be one of enforce, testing, none \(got "enforced"\) \(did you mean "enforce"\?\)/)
  t.match(errorLines[1], /config\.yaml:\d+:\d+: tenants\."example\.com"\.max_age must be between 0 and 31557600/)
  const res = await h.fetch('mta-sts.example.com')
  t.equal(res.status, 200, 'still serving')
  t.equal(res.body.toString(), body('testing'), 'the last good policy')
  for (const listener of ['ops'] as const) {
    const ready = await h.get(listener, '/readyz')
    t.equal(ready.status, 200, `${listener}: still ready, since the last good config is served`)
    const details = JSON.parse(ready.body.toString()) as { config: { last_reload: { ok: boolean; errors: string[] } } }
    t.equal(details.config.last_reload.ok, false)
    t.equal(details.config.last_reload.errors.length, 2)
    t.match(details.config.last_reload.errors[0], /config\.yaml:13:11: tenants/)
  }
  const metrics = (await h.get('ops', '/metrics')).body.toString()
  t.match(metrics, /mta_sts_config_reloads_total\{result="failure"\} 1/)
  t.match(metrics, /mta_sts_config_valid 0/)
  // Broken YAML syntax, then an empty file: still serving.
  await replaceFile(h.configFile, 'tenants: [unclosed\n')
  await h.waitForLog(l => l.event === 'reload_failed' && h.logs.filter(x => x.event === 'reload_failed').length >= 2)
  t.equal((await h.fetch('mta-sts.example.com')).body.toString(), body('testing'))
  // Fixing the file recovers.
  await replaceFile(h.configFile, preamble(h.dir) + tenants('enforce'))
  await servedWithin(h, 'mta-sts.example.com', body('enforce'), 2000)
  const ready = JSON.parse((await h.get('ops', '/readyz')).body.toString()) as { config: { last_reload: { ok: boolean } } }
  t.equal(ready.config.last_reload.ok, true)
})

t.test('tenants added and removed live', async t => {
  const h = await startService(t, tenants('testing'))
  await t.rejects(h.fetch('mta-sts.example.org'), 'not yet a tenant: handshake refused')
  await replaceFile(h.configFile, preamble(h.dir) + tenants('testing', '  example.org:\n    mx: [mail.example.org]\n'))
  const reload = await h.waitForLog(l => l.event === 'reload')
  t.same(reload.added, ['example.org'])
  const res = await h.fetch('mta-sts.example.org')
  t.equal(res.status, 200)
  t.equal(res.peer?.subjectaltname, 'DNS:mta-sts.example.org', 'got a certificate of its own on demand')
  await replaceFile(h.configFile, preamble(h.dir) + tenants('none').replace('example.com', 'example.org').replace('mx1.example.com', 'mail.example.org'))
  const second = await h.waitForLog(l => l.event === 'reload' && Array.isArray(l.changed) && l.changed.length > 0)
  t.same(second.removed, [], 'a removed testing tenant is retired, not dropped')
  t.same((second.changed as { domain: string, mode: string[] }[]).map(c => [c.domain, c.mode]).sort(), [['example.com', ['testing', 'none']], ['example.org', ['testing', 'none']]])
  const retired = await h.fetch('mta-sts.example.com')
  t.equal(retired.body.toString(), body('none'), 'served as mode none, same mx and max_age')
  await replaceFile(h.configFile, preamble(h.dir) + tenants('testing'))
  const third = await h.waitForLog(l => l.event === 'reload' && Array.isArray(l.removed) && l.removed.length > 0)
  t.same(third.removed, ['example.org'], 'a removed mode-none tenant is dropped at once')
  await t.rejects(h.fetch('mta-sts.example.org'), 'removed tenant: handshake refused')
  const status = JSON.parse((await h.get('ops', '/status')).body.toString()) as { tenants: { domain: string, mode: string }[] }
  t.same(status.tenants.map(x => [x.domain, x.mode]), [['example.com', 'testing']], 'example.com is a tenant again')
})

t.test('reloads under concurrent fetches: zero failed or wrong responses', async t => {
  const h = await startService(t, tenants('testing'))
  const valid = new Set([body('testing'), body('enforce')])
  const agent = new Agent({ keepAlive: true, maxSockets: 8 })
  t.teardown(() => agent.destroy())
  let stop = false
  let ok = 0
  const failures: string[] = []
  const deadline = Date.now() + 20_000
  const client = async (): Promise<void> => {
    for (let i = 0; i < 2000 && !stop && Date.now() < deadline; i++) {
      try {
        const res = await h.fetch('mta-sts.example.com', { agent })
        if (res.status !== 200 || !valid.has(res.body.toString())) failures.push(`${res.status} ${JSON.stringify(res.body.toString())}`)
        else ok++
      } catch (err) {
        failures.push((err as Error).message)
      }
    }
  }
  const clients = Array.from({ length: 8 }, client)
  const reloads = h.logs.filter(l => l.event === 'reload').length
  for (let i = 0; i < 10; i++) {
    const mode = i % 2 === 0 ? 'enforce' : 'testing'
    await replaceFile(h.configFile, preamble(h.dir) + tenants(mode))
    await h.waitForLog(l => l.event === 'reload' && h.logs.filter(x => x.event === 'reload').length >= reloads + i + 1)
    await servedWithin(h, 'mta-sts.example.com', body(mode), 2000)
  }
  stop = true
  await Promise.all(clients)
  t.same(failures, [], 'no failed or wrong response')
  t.ok(ok > 100, `${ok} good responses during 10 reloads`)
})

t.test('SIGHUP-style reload() and concurrent reload calls collapse into one more run', async t => {
  const h = await startService(t, tenants('testing'), { deps: { watch: false } })
  await writeFile(h.configFile, preamble(h.dir) + tenants('enforce'))
  const [a, b, c] = await Promise.all([h.service.holder.reload('SIGHUP'), h.service.holder.reload('SIGHUP'), h.service.holder.reload('SIGHUP')])
  t.ok(a.ok && b.ok && c.ok)
  t.equal(h.logs.filter(l => l.event === 'reload').length, 2, 'one run plus one follow-up')
  t.equal((await h.fetch('mta-sts.example.com')).body.toString(), body('enforce'))
})

const others = '  example.org:\n    mx: [mail.example.org]\n  example.net:\n    mx: [mail.example.net]\n'
// mode none: a removed tenant that promised nothing is dropped at once (no retirement window).
const othersPlus = (n: number): string => others + `  added${n}.example:\n    mode: none\n    mx: [mail.added${n}.example]\n`

/** Fetch `host` back to back until stopped; resolves with every failure (status other than 200, or an error). */
function fetchLoop (h: Harness, host: string): { stop: () => Promise<{ ok: number; failures: string[] }> } {
  let running = true
  let ok = 0
  const failures: string[] = []
  const loop = (async () => {
    while (running) {
      try {
        const res = await h.fetch(host)
        if (res.status === 200) ok++
        else failures.push(`status ${res.status}`)
      } catch (err) {
        failures.push((err as Error).message)
      }
      await sleep(10)
    }
  })()
  return { stop: async () => { running = false; await loop; return { ok, failures } } }
}

/** Write `text` in two chunks 400 ms apart, cut just before `cutBefore`, the first being valid YAML on its own. */
async function writeSlowly (path: string, text: string, cutBefore: string): Promise<void> {
  const cut = text.indexOf(cutBefore)
  const file = await open(path, 'w')
  try {
    await file.write(text.slice(0, cut))
    await file.sync()
    await sleep(400)
    await file.write(text.slice(cut))
  } finally {
    await file.close()
  }
}

t.test('a slow in-place writer (two chunks 400 ms apart) is never applied half-written', async t => {
  const h = await startService(t, tenants('testing', others))
  const probe = fetchLoop(h, 'mta-sts.example.org')
  // The first chunk ends after example.com: valid YAML that would drop example.org and example.net.
  await writeSlowly(h.configFile, preamble(h.dir) + tenants('enforce', othersPlus(1)), '  example.org:')
  const reload = await h.waitForLog(l => l.event === 'reload')
  t.same(reload.removed, [], 'the first reload already saw the whole file')
  t.same(reload.added, ['added1.example'])
  t.same((reload.changed as { domain: string }[]).map(c => c.domain), ['example.com'])
  await servedWithin(h, 'mta-sts.example.com', body('enforce'), 2000)
  const { ok, failures } = await probe.stop()
  t.same(failures, [], `example.org kept being served (${ok} fetches)`)
  t.equal(h.logs.filter(l => l.event === 'reload').length, 1, 'applied once')
})

t.test('an editor writing a temp file slowly, then renaming it over the config, and later in-place writes: each applied once, whole', async t => {
  const h = await startService(t, tenants('testing', others))
  const probe = fetchLoop(h, 'mta-sts.example.net')
  const tmp = `${h.configFile}.tmp`
  await writeSlowly(tmp, preamble(h.dir) + tenants('enforce', othersPlus(1)), '  example.org:')
  await rename(tmp, h.configFile)
  await h.waitForLog(l => l.event === 'reload')
  await servedWithin(h, 'mta-sts.example.com', body('enforce'), 2000)
  // The watched path is a new inode now: a slow in-place write to it is still seen, and only whole.
  await writeSlowly(h.configFile, preamble(h.dir) + tenants('none', othersPlus(2)), '  example.org:')
  await h.waitForLog(l => l.event === 'reload' && h.logs.filter(x => x.event === 'reload').length >= 2)
  await servedWithin(h, 'mta-sts.example.com', body('none'), 2000)
  // And a plain rename-over again.
  await replaceFile(h.configFile, preamble(h.dir) + tenants('testing', othersPlus(3)))
  await h.waitForLog(l => l.event === 'reload' && h.logs.filter(x => x.event === 'reload').length >= 3)
  await servedWithin(h, 'mta-sts.example.com', body('testing'), 2000)
  const { ok, failures } = await probe.stop()
  t.same(failures, [], `example.net kept being served (${ok} fetches)`)
  const reloads = h.logs.filter(l => l.event === 'reload')
  t.equal(reloads.length, 3, 'one reload per edit')
  t.same(reloads.map(r => r.removed), [[], ['added1.example'], ['added2.example']], 'nothing else ever removed')
  t.same(reloads.map(r => r.added), [['added1.example'], ['added2.example'], ['added3.example']])
})
