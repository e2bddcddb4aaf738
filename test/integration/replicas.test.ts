import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { makeReport } from '../helpers/report-store-contract.js'
import { startPostgres } from '../helpers/postgres.js'
import { preamble, startService, tempDir } from '../helpers/service-harness.js'

// Two replicas of the service on one PostgreSQL: one internal CA, one certificate per host, one
// report database, fetch statistics added up; and what a PostgreSQL outage does to them.

const TENANTS = 'tenants:\n  shop.example: { mx: [mx.shop.example] }\n  blog.example: { mode: enforce, mx: [mx.blog.example] }\n'

t.test('two replicas on one PostgreSQL share certificates, reports and statistics, and ride out an outage', async t => {
  const server = await startPostgres(t)
  const shared = await tempDir(t)
  const urlFile = join(shared, 'database.url')
  await writeFile(urlFile, await server.createDatabase(), { mode: 0o600 })
  const config = async (): Promise<string> => preamble(await tempDir(t)) + `database: { url_file: ${JSON.stringify(urlFile)}, pool_size: 4 }\n` + TENANTS
  const a = await startService(t, await config(), { raw: true })
  const b = await startService(t, await config(), { raw: true })
  t.equal(a.caPem, b.caPem, 'one internal CA, kept in the database')

  const fromA = await a.fetch('mta-sts.shop.example')
  const fromB = await b.fetch('mta-sts.shop.example', { ca: a.caPem })
  t.equal(fromA.status, 200)
  t.equal(fromB.body.toString(), fromA.body.toString())
  t.equal(fromB.peer?.fingerprint256, fromA.peer?.fingerprint256, 'one certificate per host, whichever replica is asked')
  const blogA = await a.fetch('mta-sts.blog.example')
  t.equal((await b.fetch('mta-sts.blog.example', { ca: a.caPem })).peer?.fingerprint256, blogA.peer?.fingerprint256)
  t.same(await a.service.store.list('certificates/internal'), ['certificates/internal/mta-sts.blog.example.pem', 'certificates/internal/mta-sts.shop.example.pem'])

  const day = new Date().toISOString().slice(0, 10)
  const upload = async (h: typeof a, org: string): Promise<number> => (await h.fetch('mta-sts.shop.example', {
    method: 'POST', path: '/tlsrpt', body: gzipSync(makeReport({ org, domain: 'shop.example', day, ok: 10 })), headers: { 'content-type': 'application/tlsrpt+gzip' },
  })).status
  t.equal(await upload(a, 'Sender A'), 201)
  t.equal(await upload(b, 'Sender A'), 200, 'the same report through the other replica is a duplicate')
  t.equal(await upload(b, 'Sender B'), 201)
  const summary = await a.service.reports?.summarize({ domains: ['shop.example'], days: 1 })
  t.same(summary?.[0]?.organizations, ['Sender A', 'Sender B'], 'reports from both replicas in one database')

  await b.fetch('mta-sts.shop.example', { ca: a.caPem })
  await a.service.stats?.flush()
  const fetches = await b.service.stats?.fetchesFor('shop.example', 1)
  t.equal(fetches?.days.reduce((n, d) => n + d.fetches, 0), 3, 'fetch statistics of both replicas add up')

  // Outage: policies and held certificates keep being served, readiness stays up, reports are refused with 503.
  await server.kill()
  t.equal((await b.fetch('mta-sts.blog.example', { ca: a.caPem })).status, 200, 'served from memory')
  t.equal((await a.get('http', '/readyz')).status, 200, 'readiness does not depend on the database')
  const refused = await a.fetch('mta-sts.shop.example', { method: 'POST', path: '/tlsrpt', body: gzipSync(makeReport({ org: 'Sender C', domain: 'shop.example', day })), headers: { 'content-type': 'application/tlsrpt+gzip' } })
  t.equal(refused.status, 503, 'a report is refused, so its sender retries')
  t.ok(refused.headers['retry-after'])
  await server.restart()
  t.equal(await upload(a, 'Sender C'), 201, 'taken again once the database is back')
})
