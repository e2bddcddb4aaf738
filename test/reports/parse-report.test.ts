import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { simpleParser } from 'mailparser'
import t, { type Test } from 'tap'
import { DEFAULT_MAX_REPORT_BYTES, parseReport } from '../../src/reports/parse-report.js'
import type { ParseResult, TlsReport } from '../../src/reports/types.js'

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')
const corpus = join(fixtures, 'tlsrpt-corpus', 'real')
const hostile = join(fixtures, 'tlsrpt-hostile')

/** What each real report must parse to, written by reading the files (not computed from them). */
interface Expected {
  organization: string
  reportId: string
  contactInfo: string
  start: string
  end: string
  /** Per policy: type, domain, successful, failed, failure rows, mx-host, sts mode/mx/max_age. */
  policies: { type: string; domain: string; ok: number; failed: number; rows: number; mxHosts: string[]; mode?: string; mx: string[]; maxAge?: number }[]
  notes: string[]
}

const RFC_POLICY = { type: 'sts', ok: 5326, failed: 303, rows: 3, mxHosts: ['*.mail.company-y.example'], mode: 'testing', mx: ['*.mail.company-y.example'], maxAge: 86400 }
const RFC_DATES = { contactInfo: 'sts-reporting@company-x.example', start: '2016-04-01T00:00:00.000Z', end: '2016-04-01T23:59:59.000Z' }
const MX_STRING_NOTE = 'policies[0].policy.mx-host is a single string, not an array; read as a list of one'

const REAL: Record<string, Expected> = {
  'google-style-missing-fields.json': {
    organization: 'Google Inc.',
    reportId: '2019-04-14T00:00:00Z_example.org',
    contactInfo: 'smtp-tls-reporting@google.com',
    start: '2019-04-14T00:00:00.000Z',
    end: '2019-04-14T23:59:59.000Z',
    policies: [
      { type: 'no-policy-found', domain: '', ok: 1, failed: 0, rows: 0, mxHosts: [], mx: [] },
      { type: 'invalid-policy-type', domain: '', ok: 1, failed: 0, rows: 0, mxHosts: [], mx: [] },
    ],
    notes: [
      'policies[0].policy has no policy-domain',
      'policies[0].summary has no total-failure-session-count; read as 0, the sum of its failure-details',
      'policies[1].policy.policy-type "invalid-policy-type" is not one RFC 8460 defines; kept as sent',
      'policies[1].policy has no policy-domain',
      'policies[1].summary has no total-failure-session-count; read as 0, the sum of its failure-details',
    ],
  },
  'google-style-no-policy-found.json': {
    organization: 'Example LLC.',
    reportId: '2025-08-04T00:00:00Z_example.org',
    contactInfo: 'smtp-tls-reporting@example-llc.com',
    start: '2025-08-04T00:00:00.000Z',
    end: '2025-08-04T23:59:59.000Z',
    policies: [{ type: 'no-policy-found', domain: 'example.org', ok: 13, failed: 0, rows: 0, mxHosts: [], mx: [] }],
    notes: [],
  },
  'google-style-validation-failure.json': {
    organization: 'Example Inc.',
    reportId: '2024-01-09T00:00:00Z_example.com',
    contactInfo: 'smtp-tls-reporting@example.com',
    start: '2024-01-09T00:00:00.000Z',
    end: '2024-01-09T23:59:59.000Z',
    policies: [{ type: 'sts', domain: 'example.com', ok: 0, failed: 3, rows: 2, mxHosts: [], mode: 'testing', mx: ['example.com'], maxAge: 86400 }],
    notes: [],
  },
  'google-weekly-host-mismatch.json': {
    organization: 'Google Inc.',
    reportId: '2020-01-01T00:00:00Z_example.com',
    contactInfo: 'smtp-tls-reporting@google.com',
    start: '2020-01-01T00:00:00.000Z',
    end: '2020-01-07T23:59:59.000Z',
    policies: [{ type: 'sts', domain: 'example.com', ok: 23, failed: 1, rows: 1, mxHosts: [], mode: 'enforce', mx: ['demo.example.com'], maxAge: 604800 }],
    notes: [],
  },
  'mailru-krvtz.json': {
    organization: 'Mail.ru',
    reportId: 'c96d67df-0440-57f7-6e96-c83824d0fdf2@mail.ru',
    contactInfo: 'tls_support@corp.mail.ru',
    start: '2023-01-25T00:00:00.000Z',
    end: '2023-01-26T00:00:00.000Z',
    policies: [{ type: 'sts', domain: 'krvtz.net', ok: 0, failed: 1, rows: 1, mxHosts: [], mx: [] }],
    notes: ['policies[0].policy has no policy-string'],
  },
  'mailru-sts-fetch-404-500.json': {
    organization: 'Mail.ru',
    reportId: 'b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru',
    contactInfo: 'tls_support@corp.mail.ru',
    start: '2024-02-22T00:00:00.000Z',
    end: '2024-02-23T00:00:00.000Z',
    policies: [{ type: 'sts', domain: 'example.com', ok: 0, failed: 1, rows: 2, mxHosts: [], mx: [] }],
    notes: [
      'policies[0].policy has no policy-string',
      'policies[0].summary counts 1 failed sessions but its failure-details add up to 2; kept 1',
    ],
  },
  'rfc8460-example-idn.json': {
    organization: 'Company-X',
    reportId: 'report-id-of-report-over-email-1234',
    ...RFC_DATES,
    policies: [{ ...RFC_POLICY, domain: 'xn--gpher-jua.test' }],
    notes: [MX_STRING_NOTE],
  },
  'rfc8460-example-mxhost-array.json': {
    organization: 'Company-X',
    reportId: '5065427c-23d3-47ca-b6e0-946ea0e8c4be',
    ...RFC_DATES,
    policies: [{ ...RFC_POLICY, domain: 'company-y.example' }],
    notes: [],
  },
  'rfc8460-example-mxhost-string.json': {
    organization: 'Company-X',
    reportId: '5065427c-23d3-47ca-b6e0-946ea0e8c4be',
    ...RFC_DATES,
    policies: [{ ...RFC_POLICY, domain: 'company-y.example' }],
    notes: [MX_STRING_NOTE],
  },
  'third-party-synthetic-idn.json': {
    organization: 'Example Inc.',
    reportId: 'report-id-from-report.json',
    contactInfo: 'smtp-tls-reporting@example.com',
    start: '2025-08-04T00:00:00.000Z',
    end: '2025-08-04T23:59:59.000Z',
    policies: [{ type: 'no-policy-found', domain: 'xn--gpher-jua.test', ok: 99, failed: 102, rows: 0, mxHosts: [], mx: [] }],
    notes: ['policies[0].summary counts 102 failed sessions but the report lists no failure-details'],
  },
}

function report (t: Test, result: ParseResult, name: string): TlsReport {
  if (!result.ok) {
    t.fail(`${name} parses: ${result.error}`)
    throw new Error(result.error)
  }
  return result.report
}

/** The fields the expected tables name, from a parsed report. */
function summarise (r: TlsReport): Expected {
  return {
    organization: r.organization,
    reportId: r.reportId,
    contactInfo: r.contactInfo as string,
    start: r.start,
    end: r.end,
    policies: r.policies.map(p => ({
      type: p.type,
      domain: p.domain,
      ok: p.successfulSessions,
      failed: p.failedSessions,
      rows: p.failures.length,
      mxHosts: [...p.mxHosts],
      ...(p.mode === undefined ? {} : { mode: p.mode }),
      mx: [...p.mx],
      ...(p.maxAge === undefined ? {} : { maxAge: p.maxAge }),
    })),
    notes: [...r.notes],
  }
}

const BOM_NOTE = 'the report starts with a byte order mark (skipped)'

t.test('every real JSON report in the corpus parses to what its table says', async t => {
  const files = readdirSync(corpus).filter(f => f.endsWith('.json')).sort()
  t.same(files, Object.keys(REAL).sort(), 'the table names every JSON file of the corpus')
  for (const file of files) {
    const bytes = readFileSync(join(corpus, file))
    const expected = REAL[file] as Expected
    t.strictSame(summarise(report(t, parseReport(bytes), file)), expected, file)
    t.strictSame(summarise(report(t, parseReport(gzipSync(bytes)), file)), expected, `${file}, gzipped`)
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes])
    t.strictSame(summarise(report(t, parseReport(withBom), file)), { ...expected, notes: [BOM_NOTE, ...expected.notes] }, `${file}, with a BOM`)
    t.strictSame(summarise(report(t, parseReport(gzipSync(withBom)), file)), { ...expected, notes: [BOM_NOTE, ...expected.notes] }, `${file}, with a BOM, gzipped`)
    const half = Math.floor(bytes.length / 2)
    const members = Buffer.concat([gzipSync(bytes.subarray(0, half)), gzipSync(bytes.subarray(half))])
    t.strictSame(summarise(report(t, parseReport(members), file)), expected, `${file}, as two gzip members`)
  }
})

t.test('failure details keep what the sender wrote, missing fields undefined', async t => {
  const rfc = report(t, parseReport(readFileSync(join(corpus, 'rfc8460-example-mxhost-string.json'))), 'rfc')
  t.strictSame(rfc.policies[0]?.failures, [
    { resultType: 'certificate-expired', failedSessions: 100, sendingMtaIp: '2001:db8:abcd:0012::1', receivingMxHostname: 'mx1.mail.company-y.example' },
    {
      resultType: 'starttls-not-supported',
      failedSessions: 200,
      sendingMtaIp: '2001:db8:abcd:0013::1',
      receivingMxHostname: 'mx2.mail.company-y.example',
      receivingIp: '203.0.113.56',
      additionalInformation: 'https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported',
    },
    {
      resultType: 'validation-failure',
      failedSessions: 3,
      sendingMtaIp: '198.51.100.62',
      receivingMxHostname: 'mx-backup.mail.company-y.example',
      receivingIp: '203.0.113.58',
      failureReasonCode: 'X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED',
    },
  ])
  t.strictSame(rfc.policies[0]?.strings, ['version: STSv1', 'mode: testing', 'mx: *.mail.company-y.example', 'max_age: 86400'])
  const mailru = report(t, parseReport(readFileSync(join(corpus, 'mailru-sts-fetch-404-500.json'))), 'mailru')
  t.strictSame(mailru.policies[0]?.failures, [
    { resultType: 'sts-policy-fetch-error', failedSessions: 1, failureReasonCode: 'bad https response code: 404' },
    { resultType: 'sts-policy-fetch-error', failedSessions: 1, failureReasonCode: 'bad https response code: 500' },
  ])
})

t.test('report attachments of the corpus mails parse too', async t => {
  const mails = readdirSync(corpus).filter(f => f.endsWith('.eml'))
  let reports = 0
  for (const file of mails) {
    const mail = await simpleParser(readFileSync(join(corpus, file)))
    const attachments = mail.attachments.filter(a => /tlsrpt|json|gzip|octet-stream/.test(a.contentType))
    if (file === 'not-a-report-cron-mail.eml') {
      t.equal(attachments.length, 0, 'the cron mail carries no report')
      continue
    }
    t.ok(attachments.length > 0, `${file} carries a report`)
    for (const attachment of attachments) {
      const result = parseReport(attachment.content)
      t.ok(result.ok, `${file}: ${attachment.filename ?? ''} parses${result.ok ? '' : `: ${result.error}`}`)
      reports++
    }
  }
  t.ok(reports >= 12, 'a report from each report mail')
})

interface HostileCase { file: string; outcome: 'ok' | 'error'; error?: string; notes?: string[]; why?: string }

t.test('the hostile corpus: each case ends as cases.json says', async t => {
  const cases = JSON.parse(readFileSync(join(hostile, 'cases.json'), 'utf8')) as HostileCase[]
  const files = readdirSync(hostile).filter(f => f !== 'cases.json').sort()
  t.same(cases.map(c => c.file).sort(), files, 'cases.json names every file')
  for (const c of cases) {
    const result = parseReport(readFileSync(join(hostile, c.file)))
    if (c.outcome === 'ok') {
      t.strictSame(result.ok ? result.report.notes : result.error, c.notes ?? [], `${c.file} parses, with its notes`)
    } else {
      t.equal(result.ok, false, `${c.file} is refused`)
      t.match(result.ok ? '' : result.error, c.error as string, `${c.file}: error names the problem`)
      t.notOk('tooLarge' in result, `${c.file} is not a size problem`)
    }
  }
})

function hostileReport (t: Test, file: string): TlsReport {
  return report(t, parseReport(readFileSync(join(hostile, file))), file)
}

t.test('hostile corpus: the values read from tolerated quirks', async t => {
  const zoned = hostileReport(t, 'offset-zone.json')
  t.equal(zoned.start, '2024-05-01T00:00:00.000Z', '+02:00 converted to UTC')
  t.equal(zoned.end, '2024-05-01T23:59:59.000Z', '-0400 (no colon, lower-case t) converted to UTC')
  const noZone = hostileReport(t, 'no-zone.json')
  t.equal(noZone.end, '2024-05-01T23:59:59.500Z', 'no zone: read as UTC, fraction kept')

  const crlf = hostileReport(t, 'policy-string-one-crlf-string.json').policies[0]
  t.equal(crlf?.strings.length, 1, 'the one string is kept as sent')
  t.equal(crlf?.mode, 'testing')
  t.strictSame(crlf?.mx, ['mx1.tenant.example', 'mx2.tenant.example'])
  t.equal(crlf?.maxAge, 86400)

  const duplicates = hostileReport(t, 'policy-string-duplicates.json').policies[0]
  t.equal(duplicates?.mode, 'enforce', 'the first mode line wins')
  t.equal(duplicates?.maxAge, undefined, 'a max_age that is not a number is left out')

  const notSts = hostileReport(t, 'policy-string-not-sts.json').policies[0]
  t.equal(notSts?.mode, undefined)
  t.strictSame(notSts?.mx, [])

  t.strictSame(hostileReport(t, 'mx-host-pattern.json').policies[0]?.mxHosts, ['*.tenant.example', 'mx.tenant.example'])
  t.equal(hostileReport(t, 'contact-null.json').contactInfo, null)
  t.equal(hostileReport(t, 'contact-missing.json').contactInfo, null)
  t.equal(hostileReport(t, 'unicode-policy-domain.json').policies[0]?.domain, 'xn--bcher-kva.example')
  t.equal(hostileReport(t, 'unknown-result-type.json').policies[0]?.failures[0]?.resultType, 'quantum-decoherence')
  t.equal(hostileReport(t, 'unknown-policy-type.json').policies[0]?.type, 'sts-v2')
  t.equal(hostileReport(t, 'sparse-details.json').policies[0]?.failedSessions, 5)
  t.equal(hostileReport(t, 'counts-disagree.json').policies[0]?.failedSessions, 7, 'the summary wins')
  t.strictSame(hostileReport(t, 'sparse-details.json').policies[0]?.failures[0], { resultType: 'starttls-not-supported', failedSessions: 4 })

  const nulls = hostileReport(t, 'null-fields.json').policies[0]
  t.strictSame([nulls?.domain, nulls?.strings, nulls?.mxHosts], ['', [], []])
  t.strictSame(nulls?.failures[0], { resultType: 'certificate-expired', failedSessions: 2, receivingMxHostname: 'mx.tenant.example', receivingIp: '198.51.100.1' })

  const proto = hostileReport(t, 'proto-keys.json')
  t.equal(proto.organization, 'Hostile Test', 'a __proto__ key does not stand in for a field')
  t.equal(proto.policies[0]?.type, 'sts')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched')
  t.equal(Object.getPrototypeOf(proto), Object.prototype)
})

t.test('size limits: input, decompressed output, gzip bombs', async t => {
  const plain = readFileSync(join(hostile, 'bom.json'))
  t.strictSame(parseReport(plain, { maxBytes: 100 }), { ok: false, tooLarge: true, error: `the report is ${plain.length} bytes, over the limit of 100` })
  t.equal(parseReport(plain, { maxBytes: plain.length }).ok, true, 'exactly the limit is fine')
  const gz = gzipSync(plain)
  t.strictSame(parseReport(gz, { maxBytes: plain.length - 1 }), { ok: false, tooLarge: true, error: `the gzip data decompresses to more than the limit of ${plain.length - 1} bytes` })
  t.equal(parseReport(gz, { maxBytes: plain.length }).ok, true, 'decompressed to exactly the limit is fine')

  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 })
  t.ok(bomb.length < 128 * 1024, `the bomb is small (${bomb.length} bytes)`)
  const started = process.hrtime.bigint()
  t.strictSame(parseReport(bomb), { ok: false, tooLarge: true, error: `the gzip data decompresses to more than the limit of ${DEFAULT_MAX_REPORT_BYTES} bytes` })
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  t.ok(elapsed < 5000, `stops at the limit (${Math.round(elapsed)} ms)`)
  t.match(parseReport(bomb, { maxBytes: 1024 }), { ok: false, tooLarge: true })

  for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
    t.strictSame(parseReport(plain, { maxBytes: bad }), { ok: false, error: `limits.maxBytes must be a positive integer, got ${String(bad)}` }, `maxBytes ${bad}`)
  }
})

t.test('deep nesting and odd shapes never throw', async t => {
  const deep = '['.repeat(10_000) + ']'.repeat(10_000)
  t.strictSame(parseReport(Buffer.from(deep)), { ok: false, error: 'the report: must be an object, got an array' })
  // Spliced as text: JSON.stringify itself would overflow the stack on these.
  const base = readFileSync(join(hostile, 'bom.json'), 'utf8').slice(1).trim()
  const nested = `{"extra": ${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}, ${base.slice(1)}`
  t.equal(parseReport(Buffer.from(nested)).ok, true, 'a deeply nested extra field is ignored')
  const deepName = `${base.slice(0, -1)}, "organization-name": ${deep}}`
  t.strictSame(parseReport(Buffer.from(deepName)), { ok: false, error: 'organization-name: must be a string, got an array' })
  const unclosed = '{"a":'.repeat(10_000)
  t.match(parseReport(Buffer.from(unclosed)), { ok: false, error: /not valid JSON.*ends early, at line 1, column 50001/ })
  t.match(parseReport(Buffer.from([0x1f])), { ok: false, error: /not valid JSON/ })
  t.match(parseReport(Buffer.from([0x1f, 0x8b])), { ok: false, error: /gzip data is truncated or corrupt/ })
})

t.test('JSON errors name line and column', async t => {
  t.strictSame(parseReport(Buffer.from('{"a": }')), { ok: false, error: 'the report is not valid JSON: Unexpected token \'}\', "{"a": }" is not valid JSON (at line 1, column 7)' })
  t.match(parseReport(Buffer.from('{\n"a" 1}')), { ok: false, error: /Expected ':' after property name.*\(at line 2, column 5\)/ })
  t.match(parseReport(Buffer.from('{"a": 1.}')), { ok: false, error: /\(at line 1, column 9\)/ })
  t.match(parseReport(Buffer.from('{"a": tru')), { ok: false, error: /ends early, at line 1, column 10/ })
  t.strictSame(parseReport(Buffer.from('{"a":\n\t}')), { ok: false, error: 'the report is not valid JSON: Unexpected token \'}\', "{"a":  }" is not valid JSON (at line 2, column 2)' }, 'control characters of the snippet become spaces')
})

t.test('fuzz: mutated and truncated corpus files, plain and gzipped, never throw', async t => {
  const sources = [
    ...readdirSync(corpus).filter(f => f.endsWith('.json')).map(f => readFileSync(join(corpus, f))),
    ...['null-fields.json', 'policy-string-one-crlf-string.json', 'sparse-details.json'].map(f => readFileSync(join(hostile, f))),
  ]
  // A fixed-seed generator, so that a failure can be replayed.
  let seed = 0x2545f491
  const random = (n: number): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5
    return (seed >>> 0) % n
  }
  const deadline = Date.now() + 5000
  let runs = 0
  let parsed = 0
  for (; runs < 2000 && Date.now() < deadline; runs++) {
    const source = sources[random(sources.length)] as Buffer
    let bytes: Buffer = random(2) === 0 ? gzipSync(source) : Buffer.from(source)
    const kind = random(4)
    if (kind === 0) {
      bytes = bytes.subarray(0, random(bytes.length + 1))
    } else {
      for (let i = 0, n = 1 + random(8); i < n; i++) {
        const at = random(bytes.length)
        if (kind === 1) bytes[at] = random(256)
        else if (kind === 2) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([random(256)]), bytes.subarray(at)])
        else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + random(4))])
      }
    }
    let result: ParseResult
    try {
      result = parseReport(bytes)
    } catch (err) {
      t.fail(`threw on run ${runs}: ${(err as Error).message} (input ${bytes.toString('base64')})`)
      continue
    }
    if (result.ok) {
      parsed++
      if (!Array.isArray(result.report.policies)) t.fail(`run ${runs}: a report without policies`)
    } else if (typeof result.error !== 'string' || result.error === '' || /\n\s+at /.test(result.error)) {
      t.fail(`run ${runs}: error is not a message: ${JSON.stringify(result.error)}`)
    }
  }
  t.ok(runs >= 200, `${runs} runs (${parsed} still parsed)`)
})
