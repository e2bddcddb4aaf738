import { readdir, readFile } from 'node:fs/promises'
import { gunzipSync, gzipSync } from 'node:zlib'
import t from 'tap'
import { extractMailReports } from '../../src/reports/mail-reports.js'
import { DONE_KEYWORD, REJECTED_KEYWORD } from '../../src/reports/imap-intake.js'
import { startDovecot } from '../helpers/dovecot.js'
import { reportMail } from '../helpers/report-mails.js'
import { startService } from '../helpers/service-harness.js'

// Issue 9, point 7: every report of the corpus through the mailbox and through HTTPS, into one
// database, stored once, with the session counts its JSON states; the mail that is no report set aside.

const CORPUS = new URL('../fixtures/tlsrpt-corpus/real/', import.meta.url)

interface Expected { key: string, successful: number, failed: number, json: Buffer }
type Json = { 'organization-name': string, 'report-id': string, 'date-range': Record<string, string>, policies: { summary: Record<string, number | undefined>, 'failure-details'?: { 'failed-session-count': number }[] }[] }

/** Identity and session counts of a report, read straight from its JSON (not through the service's parser). */
function expected (json: Buffer): Expected {
  const text = (json[0] === 0x1f ? gunzipSync(json) : json).toString('utf8').replace(/^\uFEFF/, '')
  const r = JSON.parse(text) as Json
  let successful = 0
  let failed = 0
  for (const p of r.policies) {
    successful += p.summary['total-successful-session-count'] ?? 0
    failed += p.summary['total-failure-session-count'] ?? (p['failure-details'] ?? []).reduce((n, f) => n + f['failed-session-count'], 0)
  }
  return { key: [r['organization-name'], r['report-id'], r['date-range']['start-datetime'], r['date-range']['end-datetime']].join('|'), successful, failed, json: Buffer.from(text) }
}

t.test('the whole corpus through a real IMAP mailbox and then over HTTPS: stored once, counts as the JSON states', async t => {
  const dovecot = await startDovecot(t)
  const distinct = new Map<string, Expected>()
  let mails = 0
  for (const file of (await readdir(CORPUS)).sort()) {
    const bytes = await readFile(new URL(file, CORPUS))
    const mail = file.endsWith('.json') ? (await reportMail(file, bytes)).mail : bytes
    await dovecot.append('INBOX', mail)
    mails++
    const reports = file.endsWith('.json') ? [bytes] : (await extractMailReports(bytes)).reports.map(r => r.bytes)
    for (const report of reports) {
      const e = expected(report)
      if (!distinct.has(e.key)) distinct.set(e.key, e)
    }
  }
  t.equal(mails, 23)
  const h = await startService(t, [
    'reports:',
    '  mailbox:',
    `    host: ${dovecot.host}`,
    `    port: ${dovecot.port}`,
    '    security: plain',
    `    user: ${dovecot.user}`,
    `    password_file: ${dovecot.passwordFile}`,
    'tenants:',
    '  example.com:',
    '    mx: [mx.example.com]',
    '',
  ].join('\n'))
  const store = h.service.reports
  if (store === undefined) throw new Error('reports are on')
  const deadline = Date.now() + 60_000
  while ((await dovecot.messages('INBOX')).some(m => !m.flags.includes(DONE_KEYWORD) && !m.flags.includes(REJECTED_KEYWORD))) {
    if (Date.now() > deadline) throw new Error('mailbox not processed within 60 s')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const flags = (await dovecot.messages('INBOX')).map(m => m.flags.includes(DONE_KEYWORD) ? 'done' : 'rejected')
  t.same([flags.filter(f => f === 'done').length, flags.filter(f => f === 'rejected').length], [22, 1], 'the cron mail is the one rejected')

  const counts = await store.counts()
  const invalid = counts.raw.invalid ?? 0
  t.equal(counts.reports + invalid, distinct.size, `${distinct.size} distinct reports: ${counts.reports} parsed, ${invalid} kept as invalid`)
  const days = await store.summarize({ days: 40000, until: '2100-01-01' })
  const parsedKeys = [...distinct.values()]
  t.equal(days.reduce((n, d) => n + d.successfulSessions, 0), parsedKeys.reduce((n, e) => n + e.successful, 0), 'successful sessions as the JSON states')
  t.equal(days.reduce((n, d) => n + d.failedSessions, 0), parsedKeys.reduce((n, e) => n + e.failed, 0), 'failed sessions as the JSON states')
  const problems = await store.problems(50)
  t.same(problems.filter(p => p.status === 'set-aside').map(p => [p.transport, p.error]), [['imap', 'no TLS report attachment (parts: text/plain)']])

  // The same reports over HTTPS: each one already there.
  for (const e of distinct.values()) {
    const res = await h.fetch('mta-sts.example.com', { method: 'POST', path: '/tlsrpt', body: gzipSync(e.json), headers: { 'content-type': 'application/tlsrpt+gzip' } })
    t.equal(res.status, 200, `${e.key}: already stored (${res.body.toString().trim()})`)
  }
  t.same((await store.counts()).reports, counts.reports, 'nothing stored twice across transports')
  const metrics = await h.service.metrics.registry.getSingleMetricAsString('mta_sts_tls_reports_total')
  t.match(metrics, 'mta_sts_tls_reports_total{transport="imap",outcome="set_aside"} 1')
  t.match(metrics, `mta_sts_tls_reports_total{transport="https",outcome="duplicate"} ${distinct.size}`)
})
