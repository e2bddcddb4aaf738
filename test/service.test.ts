import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { ManualClock } from '../src/clock.js'
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
