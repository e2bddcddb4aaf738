import t from 'tap'
import { preamble, replaceFile, startService } from '../helpers/service-harness.js'

const TENANTS = 'tenants:\n  example.com:\n    mx: [mx1.example.com]\n'

t.test('public /healthz and /readyz name no path, tenant or reload error; ops keeps the details', async t => {
  const h = await startService(t, TENANTS)
  // A reload that fails on a tenant not live yet: its name is in the errors.
  await replaceFile(h.configFile, preamble(h.dir) + TENANTS + '  secret-customer.example:\n    mode: enforced\n    mx: [mx.secret-customer.example]\n')
  await h.waitForLog(l => l.event === 'reload_failed')
  const ready = await h.get('http', '/readyz')
  t.equal(ready.status, 200)
  t.same(JSON.parse(ready.body.toString()), { status: 'ready', reasons: [] }, 'http: the status only')
  t.notMatch(ready.body.toString(), /secret-customer|config\.yaml|example\.com/)
  t.same(JSON.parse((await h.get('http', '/healthz')).body.toString()), { status: 'ok' })
  const ops = JSON.parse((await h.get('ops', '/readyz')).body.toString()) as { config: { file: string; last_reload: { ok: boolean; errors: string[] } } }
  t.equal(ops.config.file, h.configFile, 'ops: the details')
  t.equal(ops.config.last_reload.ok, false)
  t.match(ops.config.last_reload.errors[0], /secret-customer\.example/)
})
