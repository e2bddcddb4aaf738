import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { reportsSummaryCommand } from '../../src/cli/reports.js'
import type { ReportSummary } from '../../src/db/summarize-domains.js'
import { captureIo, tempDir } from '../helpers/fixtures.js'
import { runCli } from '../helpers/cli.js'
import { writeReportDatabase } from '../helpers/report-store.js'

const NOW = () => new Date('2024-06-10T12:00:00Z')

/** A config whose report database is `reports.sqlite` in a fresh directory (not created). */
async function setup (t: Test): Promise<{ config: string, database: string }> {
  const dir = await tempDir(t)
  const database = join(dir, 'reports.sqlite')
  const config = join(dir, 'c.yaml')
  await writeFile(config, [
    'certificates: {issuer: internal}',
    `reports: { database: ${JSON.stringify(database)}, verdict: { days: 3 } }`,
    'tenants:',
    '  example.com:',
    '    mode: testing',
    '    mx: [mx1.example.com, "*.mx.example.com"]',
    '  example.org:',
    '    mx: [mx.example.org]',
    '',
  ].join('\n'))
  return { config, database }
}

const REPORTS = [
  { organization: 'google.com', day: '2024-06-09', policies: [{ mode: 'testing', mx: ['*.mx.example.com', 'mx1.example.com'], successful: 120, failures: [{ type: 'certificate-expired', mx: 'b.mx.example.com', ip: '192.0.2.9', sessions: 3 }] }] },
  { organization: 'microsoft.com', day: '2024-06-09', policies: [{ type: 'no-policy-found', successful: 8 }] },
  { organization: 'google.com', day: '2024-06-10', policies: [{ domain: 'stranger.example', mode: 'enforce', mx: ['mx.stranger.example'], successful: 5 }] },
  { organization: 'yahoo.com', day: '2024-06-01', policies: [{ mode: 'testing', mx: ['mx1.example.com'], successful: 999 }] },
]

t.test('text: a row per domain and day, policies under it, strangers marked', async t => {
  const { config, database } = await setup(t)
  await writeReportDatabase(database, REPORTS)
  const io = captureIo()
  t.equal(await reportsSummaryCommand({ config, domains: [], now: NOW }, io), 0)
  t.equal(io.err(), '')
  const out = io.out()
  t.match(out, /^example\.com \(serving mode testing, mx mx1\.example\.com, \*\.mx\.example\.com\)\n/)
  t.match(out, '\n  DAY         REPORTS  ORGANISATIONS              OK   FAILED  FAILURE TYPES          FAILING MX          FAILING FROM\n')
  t.match(out, '\n  2024-06-09  2        google.com, microsoft.com  128  3       certificate-expired 3  b.mx.example.com 3  192.0.2.9 3\n')
  t.match(out, 'policy sts mode testing mx *.mx.example.com, mx1.example.com (served now) from google.com: 120 ok, 3 failed: certificate-expired 3\n')
  t.match(out, 'policy no-policy-found from microsoft.com: 8 ok, 0 failed\n')
  t.match(out, /\nstranger\.example \(not a tenant\)\n/)
  t.notMatch(out, /999|yahoo/, 'outside the 3 days of reports.verdict.days')
  t.notMatch(out, /example\.org/, 'tenants without reports are only listed when named')
  t.match(out, /\n2 domain\(s\), 2 with reports from 2024-06-08 to 2024-06-10\n$/)
})

t.test('named domains, --days and --json', async t => {
  const { config, database } = await setup(t)
  await writeReportDatabase(database, REPORTS)
  const io = captureIo()
  t.equal(await reportsSummaryCommand({ config, domains: ['EXAMPLE.com.', 'example.org', 'unknown.example'], days: 10, json: true, now: NOW }, io), 0)
  const summary = JSON.parse(io.out()) as ReportSummary
  t.same(summary.period, { days: 10, from: '2024-06-01', until: '2024-06-10' })
  t.same(summary.domains.map(d => [d.domain, d.tenant, d.daily.map(x => x.day)]), [
    ['example.com', true, ['2024-06-01', '2024-06-09']],
    ['example.org', true, []],
    ['unknown.example', false, []],
  ])
  const text = captureIo()
  t.equal(await reportsSummaryCommand({ config, domains: ['unknown.example'], now: NOW }, text), 0)
  t.equal(text.out(), 'unknown.example (not a tenant)\n  no reports from 2024-06-08 to 2024-06-10\n\n1 domain(s), 0 with reports from 2024-06-08 to 2024-06-10\n')
})

t.test('no database yet: said, exit 0, nothing created', async t => {
  const { config, database } = await setup(t)
  const io = captureIo()
  t.equal(await reportsSummaryCommand({ config, domains: ['example.com'], now: NOW }, io), 0)
  t.equal(io.err(), `no reports stored yet: no report database at ${database}\n`)
  t.match(io.out(), 'example.com (serving mode testing')
  t.match(io.out(), 'no reports from 2024-06-08 to 2024-06-10')
  t.notOk(existsSync(database), 'reading does not create the database')
})

t.test('bad input: exit 1 naming it', async t => {
  const { config, database } = await setup(t)
  await writeReportDatabase(database, [])
  const bad = captureIo()
  t.equal(await reportsSummaryCommand({ config, domains: ['not_a..domain'] }, bad), 1)
  t.match(bad.err(), /^error: "not_a\.\.domain" is not a domain name/)
  const days = captureIo()
  t.equal(await reportsSummaryCommand({ config, domains: [], days: 400 }, days), 1)
  t.equal(days.err(), 'error: --days must be a whole number from 1 to 366, got 400\n')
  const missing = captureIo()
  t.equal(await reportsSummaryCommand({ config: join(database, '..', 'nope.yaml'), domains: [] }, missing), 1)
  t.match(missing.err(), /^error: /)
  const corrupt = await setup(t)
  await writeFile(corrupt.database, 'not a database, just text that is long enough to be read as a header by SQLite')
  const unreadable = captureIo()
  t.equal(await reportsSummaryCommand({ config: corrupt.config, domains: [] }, unreadable), 1)
  t.match(unreadable.err(), `error: cannot read the report database ${corrupt.database}: `)
})

t.test('the real CLI: reports summary is wired, --days is checked', async t => {
  const { config, database } = await setup(t)
  await writeReportDatabase(database, REPORTS)
  const ok = runCli(t, ['reports', 'summary', '--config', config, '--json', '--days', '366', 'example.com'])
  t.same((await ok.exit).code, 0, ok.stderr())
  t.match(JSON.parse(ok.lines.map(l => l.text ?? JSON.stringify(l)).join('\n')), { period: { days: 366 }, domains: [{ domain: 'example.com', tenant: true }] })
  const bad = runCli(t, ['reports', 'summary', '--config', config, '--days', '0'])
  t.equal((await bad.exit).code, 1)
  t.match(bad.stderr(), /--days <n>' argument '0' is invalid\. expected a whole number of days from 1 to 366/)
})
