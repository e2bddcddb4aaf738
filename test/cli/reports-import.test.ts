import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import { systemClock } from '../../src/clock.js'
import { reportsImportCommand } from '../../src/cli/reports-import.js'
import { openSqliteReportStore } from '../../src/db/open-sqlite-report-store.js'
import { captureIo, tempDir } from '../helpers/fixtures.js'
import { corpusFile, makeReport } from '../helpers/report-store-contract.js'

const CORPUS = new URL('../fixtures/tlsrpt-corpus/real/', import.meta.url)
const OPTIONS = { maxReportBytes: 1 << 25, rawRetentionDays: 90, retentionDays: 400, clock: systemClock }

async function setup (t: Test): Promise<{ dir: string, config: string }> {
  const dir = await tempDir(t)
  const config = join(dir, 'c.yaml')
  await writeFile(config, `certificates: {storage: ${JSON.stringify(join(dir, 'data'))}}\ntenants:\n  example.com:\n    mx: [mx.example.com]\n`)
  return { dir, config }
}

/** An mboxrd file of `mails`: a `From ` line before each, `From ` at a line start escaped as `>From `. */
function mbox (mails: Buffer[]): Buffer {
  return Buffer.concat(mails.map(m => Buffer.concat([
    Buffer.from('From tlsrpt@reporter.example Mon Nov 30 06:00:00 2026\n'),
    Buffer.from(m.toString('latin1').replace(/\r\n/g, '\n').replace(/^(>*From )/gm, '>$1'), 'latin1'),
    Buffer.from('\n'),
  ])))
}

t.test('imports every corpus file (.json, .eml), told apart by content; the mail without a report is set aside; a second run finds everything stored', async t => {
  const { config, dir } = await setup(t)
  const files = (await readdir(CORPUS)).sort().map(f => new URL(f, CORPUS).pathname)
  let io = captureIo()
  t.equal(await reportsImportCommand(config, files, io), 1, 'exit 1: one mail set aside')
  t.match(io.err(), 'warning: ' + new URL('not-a-report-cron-mail.eml', CORPUS).pathname + ': set aside: no TLS report attachment (parts: text/plain)')
  const total = /total: (\d+) stored, (\d+) already stored, 0 invalid, 1 set aside, 0 unreadable/.exec(io.out())
  t.ok(total, io.out())
  const store = await openSqliteReportStore(join(dir, 'data', 'reports.sqlite'), OPTIONS)
  const counts = await store.counts()
  t.equal(counts.reports, Number(total?.[1]))
  // The RFC 8460 example four times (mx-host as string and as array, twice in a mail), and the Google
  // and Mail.ru reports both as a mail and as a file.
  t.equal(counts.reports, 17, 'the 22 report files hold 17 distinct reports')
  await store.close()

  io = captureIo()
  const reportsOnly = files.filter(f => !f.endsWith('not-a-report-cron-mail.eml'))
  t.equal(await reportsImportCommand(config, reportsOnly, io), 0, 'everything already there: exit 0')
  t.match(io.out(), `total: 0 stored, ${reportsOnly.length} already stored, 0 invalid, 0 set aside, 0 unreadable`)
})

t.test('mbox files, gzip files by content whatever their name, unreadable and unknown files', async t => {
  const { config, dir } = await setup(t)
  const mails = ['google-krvtz-1.eml', 'mailru-krvtz.eml', 'microsoft-sts-tlsa-krvtz.eml'].map(corpusFile)
  const box = join(dir, 'reports.mbox')
  await writeFile(box, mbox(mails))
  const gz = join(dir, 'report.bin')
  await writeFile(gz, gzipSync(makeReport({ org: 'Gz' })))
  const junk = join(dir, 'junk.txt')
  await writeFile(junk, 'hello\n')
  const broken = join(dir, 'broken.json')
  await writeFile(broken, '{"organization-name": ')
  const io = captureIo()
  t.equal(await reportsImportCommand(config, [box, gz, junk, join(dir, 'missing.json'), broken], io), 1)
  t.match(io.out(), `${box}: 3 stored, 0 already stored, 0 invalid, 0 set aside\n`)
  t.match(io.out(), `${gz}: 1 stored,`)
  t.match(io.out(), `${broken}: 0 stored, 0 already stored, 1 invalid, 0 set aside`)
  t.match(io.out(), 'total: 4 stored, 0 already stored, 1 invalid, 0 set aside, 2 unreadable')
  t.match(io.err(), `error: ${junk}: neither a TLS report (JSON or gzip), a mail nor an mbox file`)
  t.match(io.err(), `error: ${join(dir, 'missing.json')}: cannot read: ENOENT`)
  t.match(io.err(), `warning: ${broken}: kept, but not a valid TLS report: `)
  const store = await openSqliteReportStore(join(dir, 'data', 'reports.sqlite'), OPTIONS)
  const problems = await store.problems(5)
  t.same(problems.map(p => [p.status, p.transport, p.source]), [['invalid', 'import', broken]])
  await store.close()
})

t.test('a bad configuration: exit 2 with the errors, nothing opened', async t => {
  const dir = await tempDir(t)
  const config = join(dir, 'bad.yaml')
  await writeFile(config, 'tenants: {}\n')
  const io = captureIo()
  t.equal(await reportsImportCommand(config, [join(dir, 'x.json')], io), 2)
  t.match(io.err(), /^error: .*bad\.yaml:1:/)
  t.same(await readdir(dir), ['bad.yaml'])
  t.ok((await readFile(config)).length > 0)
})
