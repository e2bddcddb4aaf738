import t from 'tap'
import { IpcChannel, memoryPortPair } from '../../src/cluster/ipc-channel.js'
import { answerWorker, REQUESTS, type UploadOutcome } from '../../src/cluster/primary-requests.js'
import type { Service } from '../../src/service.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { httpChallengeKey, tlsAlpnChallengeKey } from '../../src/store/keys.js'
import type { ReportInput } from '../../src/reports/types.js'

const TOKEN = 'abcdefghijklmnopqrstuvwxyz012345'

async function setup (service: Partial<Parameters<typeof answerWorker>[1]>) {
  const [a, b] = memoryPortPair()
  const store = new MemoryStore()
  await store.put(httpChallengeKey('mta-sts.a.example', TOKEN), Buffer.from('http-answer'))
  await store.put(tlsAlpnChallengeKey('mta-sts.a.example'), Buffer.from('alpn-answer'))
  answerWorker(new IpcChannel(a), {
    holder: { snapshot: { byHost: new Map([['mta-sts.a.example', {}]]) } } as unknown as Service['holder'],
    certificates: { material: async () => ({ certPem: 'C', keyPem: 'K', notAfter: new Date('2027-01-01T00:00:00Z') }) } as unknown as Service['certificates'],
    store,
    readiness: () => ({ ready: true, reasons: [], details: { secret: 'paths' } }),
    reportSink: undefined,
    stats: undefined,
    ...service,
  })
  return new IpcChannel(b)
}

t.test('certificates of served hosts only; challenge answers from the store or null', async t => {
  const worker = await setup({})
  t.same(await worker.request(REQUESTS.certificate, 'MTA-STS.A.example'), { certPem: 'C', keyPem: 'K', notAfter: '2027-01-01T00:00:00.000Z' })
  await t.rejects(worker.request(REQUESTS.certificate, 'mta-sts.b.example'), /mta-sts.b.example is not served/)
  t.equal(await worker.request(REQUESTS.httpChallenge, { host: 'mta-sts.a.example', token: TOKEN }), 'http-answer')
  t.equal(await worker.request(REQUESTS.httpChallenge, { host: 'mta-sts.b.example', token: TOKEN }), null)
  t.equal(await worker.request(REQUESTS.tlsAlpnChallenge, 'mta-sts.a.example'), 'alpn-answer')
  t.equal(await worker.request(REQUESTS.tlsAlpnChallenge, 'mta-sts.b.example'), null)
})

t.test('readiness without the details (workers answer on the public http listener)', async t => {
  const worker = await setup({})
  t.same(await worker.request(REQUESTS.readiness, null), { ready: true, reasons: [], details: {} })
})

t.test('uploads go to the report sink (refused without one); fetch batches are merged into the statistics', async t => {
  await t.rejects((await setup({})).request(REQUESTS.report, { bytes: new Uint8Array([1]), source: '127.0.0.1', label: '' }), /reports are not enabled/)
  const submitted: ReportInput[] = []
  const merged: unknown[] = []
  const worker = await setup({
    reportSink: {
      submit: async input => { submitted.push(input); return input.bytes.length > 1 ? { status: 'stored', rawId: 1 } : { status: 'invalid', rawId: 2, error: 'not JSON' } },
      setAside: async () => { throw new Error('unused') },
    },
    stats: { merge: (batch: unknown) => { merged.push(batch) } } as unknown as Service['stats'],
  })
  t.same(await worker.request<UploadOutcome>(REQUESTS.report, { bytes: new Uint8Array([1, 2]), source: '127.0.0.1', label: 'application/tlsrpt+gzip' }), { status: 'stored' })
  t.same(await worker.request<UploadOutcome>(REQUESTS.report, { bytes: new Uint8Array([1]), source: '127.0.0.1', label: '' }), { status: 'invalid', error: 'not JSON' })
  t.ok(Buffer.isBuffer(submitted[0]!.bytes))
  t.match(submitted[0], { transport: 'https', source: '127.0.0.1', label: 'application/tlsrpt+gzip' })
  const batch = { counts: [], networks: [] }
  t.equal(await worker.request(REQUESTS.fetchStats, batch), true)
  t.same(merged, [batch])
})
