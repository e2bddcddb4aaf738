import { readdir, readFile } from 'node:fs/promises'
import { gzipSync, gunzipSync } from 'node:zlib'
import t from 'tap'
import { extractMailReports, isReportContent, looksLikeMail } from '../../src/reports/mail-reports.js'

const corpus = new URL('../fixtures/tlsrpt-corpus/real/', import.meta.url)

/** Every report mail of the corpus: organization-name and report-id of each report it carries. */
const expected: Record<string, Array<[string, string]>> = {
  'google-cert-expired-edited.eml': [['Google Inc.', '2026-02-08T00:00:00Z_example.com']],
  'google-krvtz-1.eml': [['Google Inc.', '2024-09-15T00:00:00Z_krvtz.net']],
  'google-krvtz-2.eml': [['Google Inc.', '2024-09-18T00:00:00Z_krvtz.net']],
  'google-no-policy-found.eml': [['Google Inc.', '2024-09-03T00:00:00Z_cardinalhealth.ca']],
  'google-sts-success-1.eml': [['Google Inc.', '2026-05-11T00:00:00Z_example.com']],
  'google-sts-success-2.eml': [['Google Inc.', '2026-05-12T00:00:00Z_example.com']],
  'google-weekly-host-mismatch-plain-tlsrpt-ct.eml': [['Google Inc.', '2020-01-01T00:00:00Z_example.com']],
  'mailru-krvtz.eml': [['Mail.ru', 'c96d67df-0440-57f7-6e96-c83824d0fdf2@mail.ru']],
  'microsoft-sts-success.eml': [['Microsoft Corporation', '134232617934286362+example.com']],
  'microsoft-sts-tlsa-krvtz.eml': [['Microsoft Corporation', '133708152202987951+krvtz.net']],
  'rfc8460-example-as-email.eml': [['Company-X', '5065427c-23d3-47ca-b6e0-946ea0e8c4be']],
  'stalwart-rpt01.eml': [['Company-X', '5065427c-23d3-47ca-b6e0-946ea0e8c4be']],
  'not-a-report-cron-mail.eml': [],
}

/** organization-name and report-id of a report file, gzip or JSON. */
function ids (bytes: Buffer): [string, string] {
  const json = JSON.parse((bytes[0] === 0x1f ? gunzipSync(bytes) : bytes).toString('utf8')) as Record<string, unknown>
  return [json['organization-name'] as string, json['report-id'] as string]
}

const report = (id: string): Buffer => Buffer.from(JSON.stringify({
  'organization-name': 'Org', 'date-range': {}, 'report-id': id, policies: [],
}))

/** A MIME mail built by hand, so each test says exactly what the sender got wrong. */
function mail (body: string, contentType = 'multipart/mixed; boundary="B"'): Buffer {
  return Buffer.from(
    'From: reporter@example.org\r\nTo: tlsrpt@example.com\r\nSubject: a report\r\n' +
    `Message-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: ${contentType}\r\n\r\n${body}`, 'latin1')
}

function part (contentType: string, bytes: Buffer, filename?: string): string {
  const disposition = filename !== undefined ? `Content-Disposition: attachment; filename="${filename}"\r\n` : ''
  return `--B\r\nContent-Type: ${contentType}\r\n${disposition}Content-Transfer-Encoding: base64\r\n\r\n` +
    `${bytes.toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`
}

t.test('every mail of the corpus gives its reports, matched by their ids', async t => {
  const files = (await readdir(corpus)).filter(f => f.endsWith('.eml')).sort()
  t.same(files, Object.keys(expected).sort(), 'the table names every .eml of the corpus')
  for (const file of files) {
    const result = await extractMailReports(await readFile(new URL(file, corpus)))
    t.same(result.reports.map(r => ids(r.bytes)), expected[file], file)
    if (result.reports.length > 0) {
      t.equal(result.reason, undefined, `${file}: no reason when reports were found`)
      t.ok(result.subject?.startsWith('Report Domain: '), `${file}: subject`)
    }
  }
})

t.test('declared types are kept for the record, file names too', async t => {
  const plain = await extractMailReports(await readFile(new URL('google-weekly-host-mismatch-plain-tlsrpt-ct.eml', corpus)))
  t.match(plain.reports, [{ contentType: 'application/tlsrpt', filename: 'mail.sender.example!example.com!1013662812!1013749130.json' }])
  const google = await extractMailReports(await readFile(new URL('google-krvtz-1.eml', corpus)))
  t.match(google.reports, [{ contentType: 'application/tlsrpt+gzip', filename: 'google.com!krvtz.net!1726358400!1726444799!001.json.gz' }])
  t.equal(google.messageId, '<66e813b9.050a0220.395bc2.4615tls@google.com>')
})

t.test('the cron mail is not a report, and the reason says what was there', async t => {
  const result = await extractMailReports(await readFile(new URL('not-a-report-cron-mail.eml', corpus)))
  t.same(result.reports, [])
  t.equal(result.reason, 'no TLS report attachment (parts: text/plain)')
  t.match(result.subject, /^Cron <root@nagual>/)
})

t.test('a mail without any body part', async t => {
  const result = await extractMailReports(mail('', 'multipart/mixed; boundary="B"'))
  t.same(result.reports, [])
  t.equal(result.reason, 'no TLS report attachment (parts: none)')
})

t.test('an HTML-only mail with a picture is no report', async t => {
  const result = await extractMailReports(mail(
    '--B\r\nContent-Type: text/html\r\n\r\n<p>{"policies": []}</p>\r\n' +
    part('image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'logo.png') + '--B--\r\n'))
  t.same(result.reports, [])
  t.equal(result.reason, 'no TLS report attachment (parts: text/html, image/png "logo.png" (4 bytes, not gzip or report JSON))')
})

t.test('a report inside a nested multipart', async t => {
  const inner = '--C\r\nContent-Type: text/plain\r\n\r\nReport attached.\r\n' +
    part('application/tlsrpt+gzip', gzipSync(report('nested')), 'r.json.gz').replace('--B', '--C') + '--C--\r\n'
  const result = await extractMailReports(mail(
    `--B\r\nContent-Type: multipart/report; report-type=tlsrpt; boundary="C"\r\n\r\n${inner}--B--\r\n`))
  t.same(result.reports.map(r => ids(r.bytes)), [['Org', 'nested']])
})

t.test('two reports in one mail, in order, whatever they are labelled', async t => {
  const result = await extractMailReports(mail(
    '--B\r\nContent-Type: text/plain\r\n\r\nTwo reports.\r\n' +
    part('application/octet-stream', gzipSync(report('first')), 'first.bin') +
    part('image/jpeg', report('second'), 'second.jpg') + '--B--\r\n'))
  t.same(result.reports.map(r => ids(r.bytes)), [['Org', 'first'], ['Org', 'second']])
  t.same(result.reports.map(r => r.contentType), ['application/octet-stream', 'image/jpeg'])
})

t.test('application/gzip and a BOM before JSON', async t => {
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' \r\n\t'), report('bom')])
  const result = await extractMailReports(mail(
    part('application/gzip', gzipSync(report('gz'))) + part('application/tlsrpt+json', bom, 'bom.json') + '--B--\r\n'))
  t.equal(result.reports.length, 2)
  t.same(ids(result.reports[0]?.bytes ?? Buffer.alloc(0)), ['Org', 'gz'])
  t.same(result.reports[1]?.bytes, bom, 'the JSON bytes as sent, BOM included')
  t.equal(result.reports[0]?.filename, undefined, 'a part without a name has none')
})

t.test('a report label on something else is not a report', async t => {
  const result = await extractMailReports(mail(
    part('application/tlsrpt+gzip', Buffer.from('Sorry, no report today.'), 'r.json.gz') +
    part('application/json', Buffer.from('{"hello": "world"}'), 'other.json') + '--B--\r\n'))
  t.same(result.reports, [])
  t.equal(result.reason, 'no TLS report attachment (parts: application/tlsrpt+gzip "r.json.gz" (23 bytes, not gzip or report JSON), ' +
    'application/json "other.json" (18 bytes, not gzip or report JSON))')
})

t.test('truncated base64 still hands over the bytes that were there (the sink flags them)', async t => {
  const gz = gzipSync(report('truncated')).toString('base64')
  const result = await extractMailReports(mail(
    '--B\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n' + gz.slice(0, 30)))
  t.equal(result.reports.length, 1)
  const bytes = result.reports[0]?.bytes ?? Buffer.alloc(0)
  t.ok(bytes.length > 2 && bytes.length < 30, 'a prefix of the gzip stream')
  t.throws(() => gunzipSync(bytes), 'it does not decompress: storing it raw is the sink\'s job')
})

t.test('garbage is no mail and no report', async t => {
  const result = await extractMailReports(Buffer.from([0x00, 0xff, 0xfe, 0x1f, 0x8b, 0x0a, 0x0d]))
  t.same(result.reports, [])
  t.equal(result.reason, 'no TLS report attachment (parts: none)')
  t.equal(result.subject, undefined)
  t.equal(result.messageId, undefined)
})

t.test('a text body counts only when the whole body is report JSON', async t => {
  const inline = await extractMailReports(mail(report('inline').toString(), 'text/plain; charset=utf-8'))
  t.same(inline.reports.map(r => ids(r.bytes)), [['Org', 'inline']])
  t.equal(inline.reports[0]?.contentType, 'text/plain')
  const human = await extractMailReports(mail('{"policies" is what the report has}', 'text/plain'))
  t.same(human.reports, [], 'starts like JSON but is prose')
  t.equal(human.reason, 'no TLS report attachment (parts: text/plain)')
})

t.test('a forwarded report mail (message/rfc822) is opened, two levels deep at most', async t => {
  const original = await readFile(new URL('stalwart-rpt01.eml', corpus))
  let level = 0
  const forward = (inner: Buffer): Buffer => {
    const b = `F${++level}`
    return mail(`--${b}\r\nContent-Type: text/plain\r\n\r\nForwarded.\r\n--${b}\r\nContent-Type: message/rfc822\r\n\r\n` +
      `${inner.toString('latin1')}\r\n--${b}--\r\n`, `multipart/mixed; boundary="${b}"`)
  }
  const once = await extractMailReports(forward(original))
  t.same(once.reports.map(r => ids(r.bytes)), [['Company-X', '5065427c-23d3-47ca-b6e0-946ea0e8c4be']])
  const twice = await extractMailReports(forward(forward(original)))
  t.equal(twice.reports.length, 1)
  const thrice = await extractMailReports(forward(forward(forward(original))))
  t.same(thrice.reports, [], 'deeper than that is not searched')
  t.match(thrice.reason, /^no TLS report attachment \(parts: text\/plain, message\/rfc822 \(no TLS report attachment \(parts: text\/plain, message\/rfc822 \(no TLS report attachment \(parts: text\/plain, message\/rfc822 \(\d+ bytes, not gzip or report JSON\)\)\)\)\)\)$/)
})

t.test('isReportContent sniffs gzip and report JSON only', async t => {
  t.ok(isReportContent(Buffer.from([0x1f, 0x8b])))
  t.ok(isReportContent(Buffer.from('\n{"organization-name":"x"}')))
  t.notOk(isReportContent(Buffer.from('{"other":1}')))
  t.notOk(isReportContent(Buffer.from('["policies"]')))
  t.notOk(isReportContent(Buffer.from([0x1f])))
  t.notOk(isReportContent(Buffer.alloc(0)))
  t.notOk(isReportContent(Buffer.from('   ')))
})

t.test('looksLikeMail tells an .eml from JSON, gzip and mbox', async t => {
  for (const file of Object.keys(expected)) t.ok(looksLikeMail(await readFile(new URL(file, corpus))), file)
  t.notOk(looksLikeMail(await readFile(new URL('rfc8460-example-idn.json', corpus))))
  t.notOk(looksLikeMail(gzipSync(report('x'))))
  t.notOk(looksLikeMail(Buffer.from('From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n')))
  t.ok(looksLikeMail(Buffer.from('Subject: no newline at all')))
  t.notOk(looksLikeMail(Buffer.from(`X-${'a'.repeat(1200)}: too long a field name`)), 'only the first 1000 bytes are looked at')
  t.notOk(looksLikeMail(Buffer.alloc(0)))
})
