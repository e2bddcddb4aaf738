import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { checkCommand } from '../../src/cli/check.js'
import { dnsCommand } from '../../src/cli/dns.js'
import { openCliReportStore, openCliStore, reportDatabaseName } from '../../src/cli/open-cli-report-store.js'
import { reportsSummaryCommand } from '../../src/cli/reports.js'
import { reportsImportCommand } from '../../src/cli/reports-import.js'
import { loadConfig } from '../../src/config/load-config.js'
import { retirementKey } from '../../src/store/keys.js'
import { captureIo, tempDir } from '../helpers/fixtures.js'
import { startPostgres } from '../helpers/postgres.js'
import { makeReport } from '../helpers/report-store-contract.js'

// The commands on a configuration with `database`: they read and write the shared PostgreSQL.

t.test('reports import, reports summary, check and dns use PostgreSQL when database is set', async t => {
  const server = await startPostgres(t)
  const dir = await tempDir(t)
  const urlFile = join(dir, 'db.url')
  await writeFile(urlFile, await server.createDatabase(), { mode: 0o600 })
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, [
    'certificates: { issuer: internal, storage: store }',
    `database: { url_file: ${JSON.stringify(urlFile)} }`,
    'check: { resolvers: ["127.0.0.1:1"], timeout_ms: 200 }',
    'tenants:',
    '  shop.example: { mx: [mx.shop.example] }',
    '',
  ].join('\n'))
  const loaded = await loadConfig(configFile)
  if (!loaded.ok) throw new Error('valid config')
  t.equal(reportDatabaseName(loaded.config), 'on PostgreSQL (database.url_file)')

  const day = new Date().toISOString().slice(0, 10)
  const report = join(dir, 'r.json.gz')
  await writeFile(report, gzipSync(makeReport({ org: 'Sender On PG', domain: 'shop.example', day, ok: 7 })))
  const imported = captureIo()
  t.equal(await reportsImportCommand(configFile, [report], imported), 0)
  t.match(imported.out(), '1 stored')

  const summary = captureIo()
  t.equal(await reportsSummaryCommand({ config: configFile, domains: ['shop.example'], days: 1, json: true }, summary), 0)
  t.match(summary.out(), 'Sender On PG', 'read back from PostgreSQL')

  const checked = captureIo()
  await checkCommand({ config: configFile, domains: ['shop.example'], json: true }, checked)
  t.notMatch(checked.err(), /no report database/, 'the TLS reports check reads PostgreSQL')

  const store = await openCliStore(loaded.config)
  await store.value.put(retirementKey('old.example'), JSON.stringify({ domain: 'old.example', mx: ['mx.old.example'], maxAge: 86400, rua: [], since: '2026-11-30T00:00:00.000Z', until: '2099-01-01T00:00:00.000Z', previousMode: 'enforce', previousId: 'x' }))
  await store.close()
  const dns = captureIo()
  t.equal(await dnsCommand(configFile, 'text', dns), 0)
  t.match(dns.out(), 'old.example  mode=none', 'retirements are read from PostgreSQL')

  await server.stop()
  const down = captureIo()
  t.equal(await reportsSummaryCommand({ config: configFile, domains: [], days: 1 }, down), 1)
  t.match(down.err(), /cannot read the report database on PostgreSQL/)
  await t.rejects(openCliReportStore(loaded.config, { create: true }), 'writing fails too')
  await t.rejects(openCliStore(loaded.config))
  const dnsDown = captureIo()
  t.equal(await dnsCommand(configFile, 'text', dnsDown), 0, 'dns still prints the configured tenants')
  t.match(dnsDown.out(), 'shop.example')
})
