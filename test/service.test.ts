import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { ManualClock } from '../src/clock.js'
import { FileStore } from '../src/store/file-store.js'
import { currentOwner, ownerTag } from '../src/store/lock-owner.js'
import { MemoryStore } from '../src/store/memory-store.js'
import { InternalCa } from '../src/tls/internal-ca.js'
import { httpsFetch, preamble, startService, tempDir } from './helpers/service-harness.js'

t.test('files issuer: serves operator certificates; readiness waits for every tenant', async t => {
  const certs = await tempDir(t)
  const caStore = new MemoryStore()
  const ca = await InternalCa.open({ store: caStore, clock: new ManualClock(), leafLifetime: 30 * 86400 })
  const put = async (host: string): Promise<void> => {
    const issued = await ca.obtain(host)
    await mkdir(join(certs, host), { recursive: true })
    await writeFile(join(certs, host, 'privkey.pem'), issued.keyPem, { mode: 0o600 })
    await writeFile(join(certs, host, 'fullchain.pem'), issued.certPem)
  }
  await put('mta-sts.example.com')
  const yaml = `  files: { directory: ${JSON.stringify(certs)} }
tenants:
  example.com:
    mx: [mx1.example.com]
  example.org:
    mx: [mail.example.org]
`
  const h = await startService(t, yaml, { issuer: 'files', deps: { certificateCheckMs: 100 } })
  const res = await httpsFetch(h.addresses.https.port, 'mta-sts.example.com', { ca: ca.caPem })
  t.equal(res.status, 200)
  const notReady = await h.get('http', '/readyz')
  t.equal(notReady.status, 503)
  t.match(JSON.parse(notReady.body.toString()), {
    status: 'not ready',
    reasons: ['1 tenant host(s) have no usable certificate'],
    certificates: { issuer: 'files', unavailable: ['mta-sts.example.org'], unavailable_count: 1 },
  })
  await t.rejects(httpsFetch(h.addresses.https.port, 'mta-sts.example.org', { ca: ca.caPem }), 'no certificate: handshake fails')
  t.ok(h.logs.some(l => l.event === 'certificate_failed' && l.host === 'mta-sts.example.org'))
  t.equal(h.caPem, '', 'no internal CA with the files issuer')
  t.notOk(preamble(h.dir, 'files').includes('internal'))
})

t.test('start-up removes what a crash left in the store and logs the counts (never names or contents)', async t => {
  const root = join(await tempDir(t), 'store')
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  const dead = { ...currentOwner(), pid: child.pid as number }
  await mkdir(join(root, '.tmp', ownerTag(dead)), { recursive: true })
  await writeFile(join(root, '.tmp', ownerTag(dead), '0123456789abcdef'), '-----BEGIN PRIVATE KEY-----\nSECRET-HALF-WRITTEN')
  await mkdir(join(root, '.locks'), { recursive: true })
  await writeFile(join(root, '.locks', 'issue-mta-sts.example.com.lock'), JSON.stringify({ token: 'x', owner: dead, expires: Date.now() + 3600_000 }))
  const yaml = `  files: { directory: ${JSON.stringify(join(root, 'no-certs'))} }\ntenants:\n  example.com:\n    mx: [mx1.example.com]\n`
  const h = await startService(t, yaml, { issuer: 'files', deps: { store: new FileStore(root) } })
  const line = await h.waitForLog(l => l.event === 'store_cleanup')
  t.match(line, { level: 'info', temp_files: 1, locks: 1 })
  t.notMatch(JSON.stringify(h.logs), /SECRET|PRIVATE KEY|0123456789abcdef/, 'no key material and no file names in the logs')
  t.same(await readdir(join(root, '.locks')), [])
})
