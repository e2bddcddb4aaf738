import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../src/log.js'
import { DONE_KEYWORD, ImapIntake, REJECTED_KEYWORD, type ImapSettings } from '../../src/reports/imap-intake.js'
import { extractMailReports } from '../../src/reports/mail-reports.js'
import type { IngestOutcome, ReportInput, ReportSink } from '../../src/reports/types.js'
import { startDovecot, type Dovecot } from '../helpers/dovecot.js'
import { reportMail } from '../helpers/report-mails.js'

const corpus = new URL('../fixtures/tlsrpt-corpus/real/', import.meta.url)
const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** A report store in memory: keeps each distinct content once, can be told to fail. */
class MemorySink implements ReportSink {
  readonly stored = new Map<string, Buffer>()
  readonly submissions: ReportInput[] = []
  readonly setAsides: Array<{ input: ReportInput, reason: string }> = []
  /** Submissions left before every call throws; Infinity never fails. */
  failAfter = Infinity

  async submit (input: ReportInput): Promise<IngestOutcome> {
    if (this.failAfter <= 0) throw new Error('store unavailable')
    this.failAfter--
    this.submissions.push(input)
    const key = sha(input.bytes)
    const duplicate = this.stored.has(key)
    this.stored.set(key, input.bytes)
    return { status: duplicate ? 'duplicate' : 'stored', rawId: this.stored.size }
  }

  async setAside (input: ReportInput, reason: string): Promise<IngestOutcome> {
    if (this.failAfter <= 0) throw new Error('store unavailable')
    this.setAsides.push({ input, reason })
    return { status: 'invalid', rawId: 0, error: reason }
  }
}

/** A logger whose JSON lines the test reads back. */
function logger (): { log: ReturnType<typeof createLogger>, lines: () => Array<Record<string, unknown>>, text: () => string } {
  const raw: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _enc, cb) { raw.push(chunk.toString('utf8')); cb() } })
  return {
    log: createLogger('debug', stream),
    lines: () => raw.join('').split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>),
    text: () => raw.join(''),
  }
}

/** Polls `check` every 50 ms for at most `ms`. */
async function waitFor (what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

interface CorpusMail { file: string, mail: Buffer, reports: string[] }

/**
 * Every corpus .eml as it is, every .json wrapped in a report mail; the sha256 of the reports each
 * carries, as the server gives the mail back: IMAP mail has CRLF line ends, so an LF-only file comes
 * back with CRLF (which changes a report sent as plain 7-bit JSON).
 */
async function corpusMails (): Promise<CorpusMail[]> {
  const out: CorpusMail[] = []
  for (const file of (await readdir(corpus)).sort()) {
    const bytes = await readFile(new URL(file, corpus))
    if (file.endsWith('.eml')) {
      const stored = Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1')
      out.push({ file, mail: bytes, reports: (await extractMailReports(stored)).reports.map(r => sha(r.bytes)) })
    } else if (file.endsWith('.json')) {
      const { mail, report } = await reportMail(file, bytes)
      out.push({ file, mail, reports: [sha(report)] })
    }
  }
  return out
}

function settings (dovecot: Dovecot, more: Partial<ImapSettings> = {}): ImapSettings {
  return {
    host: dovecot.host, port: dovecot.port, security: 'plain', user: dovecot.user, passwordFile: dovecot.passwordFile,
    folder: 'INBOX', after: 'flag', processedFolder: 'TLSRPT-processed', rejectedFolder: 'TLSRPT-rejected',
    pollInterval: 3600, maxMessageBytes: 25 * 1024 * 1024, ...more,
  }
}

const retry = { initialMs: 100, maxMs: 400 }

t.test('flag mode with IDLE: every report once, the non-report set aside, every mail flagged, new mail read at once', async t => {
  const dovecot = await startDovecot(t)
  const mails = await corpusMails()
  t.equal(mails.length, 23)
  const uids = new Map<number, CorpusMail>()
  for (const m of mails) uids.set(await dovecot.append('INBOX', m.mail), m)

  const sink = new MemorySink()
  const { log, lines, text } = logger()
  const intake = new ImapIntake({ settings: settings(dovecot), sink, log, retry })
  intake.start()
  intake.start()
  t.teardown(() => intake.close())
  await waitFor('every mail flagged', async () => (await dovecot.messages('INBOX')).every(m => m.flags.length > 0))

  const expected = new Set(mails.flatMap(m => m.reports))
  t.same(new Set(sink.stored.keys()), expected, 'every distinct report reached the sink')
  const counts = new Map<string, number>()
  for (const s of sink.submissions) counts.set(sha(s.bytes), (counts.get(sha(s.bytes)) ?? 0) + 1)
  const perMail = new Map<string, number>()
  for (const m of mails) for (const r of m.reports) perMail.set(r, (perMail.get(r) ?? 0) + 1)
  t.same(counts, perMail, 'each report submitted once per mail that carries it, no more')
  t.match(sink.submissions[0], { transport: 'imap', source: /^INBOX\/\d+\/1$/, label: 'google.com!example.com!1778544000!1778630399!001.json.gz' })

  t.equal(sink.setAsides.length, 1)
  t.match(sink.setAsides[0], { reason: 'no TLS report attachment (parts: text/plain)', input: { label: 'message/rfc822', transport: 'imap' } })
  t.same(sink.setAsides[0]?.input.bytes, mails.find(m => m.file === 'not-a-report-cron-mail.eml')?.mail)
  for (const m of await dovecot.messages('INBOX')) {
    const wanted = uids.get(m.uid)?.reports.length === 0 ? REJECTED_KEYWORD : DONE_KEYWORD
    t.same(m.flags, [wanted], `uid ${m.uid} (${String(uids.get(m.uid)?.file)}) marked ${wanted}`)
  }
  t.ok(lines().some(l => l.msg === 'imap intake: connected' && l.idle === true))
  t.ok(lines().some(l => l.msg === 'imap intake: mail read' && l.uid === 1 && l.stored === 1 && l.reports === 1))

  const started = Date.now()
  const { mail, report } = await reportMail('late', Buffer.from('{"organization-name":"Late","report-id":"late","policies":[]}'))
  const uid = await dovecot.append('INBOX', mail)
  await waitFor('the new mail', () => sink.stored.has(sha(report)), 10_000)
  t.ok(Date.now() - started < 10_000, 'read through IDLE, long before the poll interval of an hour')
  await waitFor('the new mail flagged', async () => (await dovecot.messages('INBOX')).find(m => m.uid === uid)?.flags[0] === DONE_KEYWORD)

  const closing = Date.now()
  await intake.close()
  await intake.close()
  t.ok(Date.now() - closing < 3000, 'close returns promptly')
  intake.start()
  t.notMatch(text(), dovecot.password, 'the password is never logged')
})

t.test('move mode, polling (no IDLE): mails moved, a mail too large set aside unread', async t => {
  const dovecot = await startDovecot(t, { idle: false })
  const mails = await corpusMails()
  for (const m of mails) await dovecot.append('INBOX', m.mail)
  const sink = new MemorySink()
  const { log, lines } = logger()
  const intake = new ImapIntake({
    settings: settings(dovecot, { after: 'move', processedFolder: 'Reports/done', rejectedFolder: 'Reports/rejected', pollInterval: 0.5, maxMessageBytes: 12_000 }),
    sink, log, retry,
  })
  intake.start()
  t.teardown(() => intake.close())
  await waitFor('INBOX empty', async () => (await dovecot.messages('INBOX')).length === 0)
  t.ok(lines().some(l => l.msg === 'imap intake: connected' && l.idle === false))
  t.equal((await dovecot.messages('Reports/done')).length, 21)
  t.equal((await dovecot.messages('Reports/rejected')).length, 2)
  t.same(new Set(sink.stored.keys()), new Set(mails.filter(m => m.file !== 'microsoft-sts-success.eml').flatMap(m => m.reports)))
  const big = sink.setAsides.find(a => a.reason.includes('maxMessageBytes'))
  t.match(big?.reason, /^mail of 1\d{4} bytes is larger than maxMessageBytes \(12000\): not read, its first 1\d{4} bytes kept$/)

  const { mail, report } = await reportMail('polled', Buffer.from('{"organization-name":"Poll","report-id":"p","policies":[]}'))
  await dovecot.append('INBOX', mail)
  await waitFor('the polled mail', () => sink.stored.has(sha(report)), 5000)
  await waitFor('the polled mail moved', async () => (await dovecot.messages('Reports/done')).length === 22)
  await intake.close()
})

t.test('a failing store: nothing is marked before its reports are stored, a new run finishes the mailbox', async t => {
  const dovecot = await startDovecot(t)
  const mails = await corpusMails()
  const byUid = new Map<number, CorpusMail>()
  for (const m of mails) byUid.set(await dovecot.append('INBOX', m.mail), m)
  const sink = new MemorySink()
  sink.failAfter = 5
  const { log, lines } = logger()
  const first = new ImapIntake({ settings: settings(dovecot), sink, log, retry })
  first.start()
  await waitFor('the store failing twice', () => lines().filter(l => String(l.msg).includes('the report store failed')).length >= 2)
  await first.close()
  const marked = (await dovecot.messages('INBOX')).filter(m => m.flags.length > 0)
  t.equal(marked.length, 5, 'the five mails whose reports were stored')
  for (const m of marked) {
    t.ok(byUid.get(m.uid)?.reports.every(r => sink.stored.has(r)), `uid ${m.uid} marked only after its reports were stored`)
  }
  t.match(lines().find(l => String(l.msg).includes('the report store failed')), { error: 'store unavailable', uid: 6 })

  sink.failAfter = Infinity
  const second = new ImapIntake({ settings: settings(dovecot), sink, log, retry })
  second.start()
  t.teardown(() => second.close())
  await waitFor('every mail flagged', async () => (await dovecot.messages('INBOX')).every(m => m.flags.length > 0))
  t.same(new Set(sink.stored.keys()), new Set(mails.flatMap(m => m.reports)), 'nothing lost')
  await second.close()
})

t.test('Dovecot restarting mid-way: the intake reconnects and finishes', async t => {
  const dovecot = await startDovecot(t)
  const mails = await corpusMails()
  for (const m of mails) await dovecot.append('INBOX', m.mail)
  const sink = new MemorySink()
  const { log, lines } = logger()
  const intake = new ImapIntake({ settings: settings(dovecot), sink, log, retry })
  t.teardown(() => intake.close())
  // A slow store, so the restart lands in the middle of the mailbox.
  const submit = sink.submit.bind(sink)
  sink.submit = async input => { await new Promise(resolve => setTimeout(resolve, 100)); return await submit(input) }
  intake.start()
  await waitFor('a few reports', () => sink.submissions.length >= 3)
  await dovecot.stop()
  await new Promise(resolve => setTimeout(resolve, 300))
  await dovecot.start()
  await waitFor('a second connection', () => lines().filter(l => l.msg === 'imap intake: connected').length >= 2, 20_000)
  await waitFor('every mail flagged', async () => (await dovecot.messages('INBOX')).every(m => m.flags.length > 0), 20_000)
  t.match(lines().find(l => l.msg === 'imap intake: connection failed, retrying'), { level: 'error', retryInMs: 100 }, 'the lost connection was logged')
  t.same(new Set(sink.stored.keys()), new Set(mails.flatMap(m => m.reports)))
  await intake.close()
})

t.test('STARTTLS and implicit TLS, trusting the test CA', async t => {
  const dovecot = await startDovecot(t, { tls: true })
  const sink = new MemorySink()
  const { log, lines } = logger()
  const one = await reportMail('starttls', Buffer.from('{"organization-name":"A","report-id":"1","policies":[]}'))
  await dovecot.append('INBOX', one.mail)
  const starttls = new ImapIntake({ settings: settings(dovecot, { security: 'starttls', caFile: dovecot.caFile }), sink, log, retry })
  starttls.start()
  t.teardown(() => starttls.close())
  await waitFor('the report over STARTTLS', () => sink.stored.has(sha(one.report)))
  await starttls.close()

  const two = await reportMail('tls', Buffer.from('{"organization-name":"B","report-id":"2","policies":[]}'))
  await dovecot.append('INBOX', two.mail)
  const tls = new ImapIntake({ settings: settings(dovecot, { security: 'tls', port: dovecot.tlsPort, caFile: dovecot.caFile }), sink, log, retry })
  tls.start()
  t.teardown(() => tls.close())
  await waitFor('the report over TLS', () => sink.stored.has(sha(two.report)))
  await tls.close()
  t.equal(sink.submissions.length, 2)

  const untrusted = new ImapIntake({ settings: settings(dovecot, { security: 'tls', port: dovecot.tlsPort }), sink, log, retry })
  untrusted.start()
  t.teardown(() => untrusted.close())
  await waitFor('a certificate error', () => lines().some(l => l.msg === 'imap intake: connection failed, retrying' && /certificate/i.test(String(l.error))))
  await untrusted.close()
})

t.test('a wrong or missing password is logged and retried, never a crash', async t => {
  const dovecot = await startDovecot(t)
  const { log, lines, text } = logger()
  const sink = new MemorySink()
  const wrongFile = `${dovecot.passwordFile}.wrong`
  await writeFile(wrongFile, 'not-the-password\n')
  const intake = new ImapIntake({ settings: settings(dovecot, { passwordFile: wrongFile }), sink, log, retry })
  intake.start()
  t.teardown(() => intake.close())
  await waitFor('two failed logins', () => lines().filter(l => l.authenticationFailed === true).length >= 2)
  t.match(lines().find(l => l.authenticationFailed === true), { level: 'error', user: 'reports', host: '127.0.0.1', retryInMs: 100 })
  t.notMatch(text(), 'not-the-password')
  await intake.close()

  const emptyFile = `${dovecot.passwordFile}.empty`
  await writeFile(emptyFile, '\n')
  const empty = new ImapIntake({ settings: settings(dovecot, { passwordFile: emptyFile }), sink, log, retry })
  empty.start()
  t.teardown(() => empty.close())
  await waitFor('the empty file named', () => lines().some(l => l.error === `password file ${emptyFile} is empty`))
  await empty.close()

  const missing = new ImapIntake({ settings: settings(dovecot, { passwordFile: '/nonexistent/password' }), sink, log, retry })
  missing.start()
  t.teardown(() => missing.close())
  await waitFor('the missing file named', () => lines().some(l => l.code === 'ENOENT'))
  await missing.close()
})

t.test('plain text to a host that is not loopback is warned about', async t => {
  const dovecot = await startDovecot(t)
  const { log, lines } = logger()
  // 0.0.0.0 reaches the local host on Linux, but is not a loopback name.
  const intake = new ImapIntake({ settings: settings(dovecot, { host: '0.0.0.0' }), sink: new MemorySink(), log, retry })
  intake.start()
  t.teardown(() => intake.close())
  await waitFor('the warning', () => lines().some(l => String(l.msg).includes('unencrypted')))
  await intake.close()
})
