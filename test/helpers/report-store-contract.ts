/**
 * The behaviour every ReportStore must show, run against each implementation (SQLite on the
 * main thread, SQLite in a worker, later PostgreSQL): raw first, dedupe, invalid kept and
 * visible, summaries by domain and day.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { Test } from 'tap'
import type { ReportStore } from '../../src/db/report-store.js'

const CORPUS = fileURLToPath(new URL('../fixtures/tlsrpt-corpus/real/', import.meta.url))

/** A corpus file's bytes. */
export function corpusFile (name: string): Buffer {
  return readFileSync(join(CORPUS, name))
}

/** A small valid report for `domain` on `day`, with `failures` validation failures at `mx`. */
export function makeReport (options: { org?: string, id?: string, domain?: string, day?: string, ok?: number, failures?: number, mode?: string, mx?: string[], type?: string, failureMx?: string }): Buffer {
  const day = options.day ?? '2026-11-20'
  const failures = options.failures ?? 0
  const mx = options.mx ?? ['mx.example.com']
  return Buffer.from(JSON.stringify({
    'organization-name': options.org ?? 'Example Sender',
    'date-range': { 'start-datetime': `${day}T00:00:00Z`, 'end-datetime': `${day}T23:59:59Z` },
    'contact-info': 'tlsrpt@sender.example',
    'report-id': options.id ?? `${day}-${options.org ?? 'x'}-${options.domain ?? 'example.com'}`,
    policies: [{
      policy: {
        'policy-type': options.type ?? 'sts',
        'policy-string': ['version: STSv1', `mode: ${options.mode ?? 'testing'}`, ...mx.map(m => `mx: ${m}`), 'max_age: 604800'],
        'policy-domain': options.domain ?? 'example.com',
        'mx-host': mx,
      },
      summary: { 'total-successful-session-count': options.ok ?? 10, 'total-failure-session-count': failures },
      ...(failures > 0
        ? { 'failure-details': [{ 'result-type': 'certificate-expired', 'sending-mta-ip': '192.0.2.7', 'receiving-mx-hostname': options.failureMx ?? 'mx.example.com', 'failed-session-count': failures }] }
        : {}),
    }],
  }))
}

/** Runs the contract against stores made by `open` (each subtest gets a new, empty one). */
export function reportStoreContract (t: Test, open: (t: Test) => Promise<ReportStore>): void {
  t.test('a report is stored once: the same bytes, or the same report sent again, are duplicates', async t => {
    const store = await open(t)
    const bytes = corpusFile('rfc8460-example-mxhost-array.json')
    const first = await store.submit({ bytes, transport: 'https', source: '127.0.0.1', label: 'application/tlsrpt+json' })
    t.equal(first.status, 'stored')
    t.equal(first.report?.organization, 'Company-X')
    const again = await store.submit({ bytes, transport: 'https', source: '127.0.0.2' })
    t.same([again.status, again.rawId], ['duplicate', first.rawId], 'byte-identical: the earlier copy')
    const gz = await store.submit({ bytes: gzipSync(bytes), transport: 'imap', source: 'INBOX/1/7' })
    t.same([gz.status, gz.rawId], ['duplicate', first.rawId], 'gzipped copy of the same report: (organisation, report-id, range) match')
    const counts = await store.counts()
    t.same(counts, { raw: { parsed: 1, duplicate: 1 }, reports: 1 })
  })

  t.test('a report that does not parse is kept, flagged and listed; a non-report mail is set aside with its reason', async t => {
    const store = await open(t)
    const broken = await store.submit({ bytes: Buffer.from('{"organization-name": "Broken", '), transport: 'https', source: '127.0.0.1', label: 'application/tlsrpt+json' })
    t.equal(broken.status, 'invalid')
    t.match(broken.error, /JSON/)
    const noPolicies = await store.submit({ bytes: gzipSync('{"organization-name":"X","report-id":"1"}'), transport: 'https', source: '127.0.0.1' })
    t.equal(noPolicies.status, 'invalid')
    const aside = await store.setAside({ bytes: Buffer.from('Subject: cron\r\n\r\nhello\r\n'), transport: 'imap', source: 'INBOX/1/9' }, 'no TLS report attachment (parts: text/plain)')
    t.same([aside.status, aside.error], ['invalid', 'no TLS report attachment (parts: text/plain)'])
    const problems = await store.problems(10)
    t.same(problems.map(p => [p.id, p.status, p.transport, p.source]), [
      [aside.rawId, 'set-aside', 'imap', 'INBOX/1/9'],
      [noPolicies.rawId, 'invalid', 'https', '127.0.0.1'],
      [broken.rawId, 'invalid', 'https', '127.0.0.1'],
    ], 'newest first')
    t.equal(problems[2]?.label, 'application/tlsrpt+json')
    t.equal(problems[2]?.size, 32)
    t.equal((await store.problems(1)).length, 1, 'limited')
    const resent = await store.submit({ bytes: Buffer.from('{"organization-name": "Broken", '), transport: 'https', source: '127.0.0.1' })
    t.same([resent.status, resent.rawId], ['duplicate', broken.rawId], 'a retried broken upload is not kept twice')
  })

  t.test('summaries: per domain and day, organisations, sessions, failure types, MX hosts, sending IPs and applied policies', async t => {
    const store = await open(t)
    const reports = [
      makeReport({ org: 'A', domain: 'example.com', day: '2026-11-20', ok: 100 }),
      makeReport({ org: 'B', domain: 'example.com', day: '2026-11-20', ok: 50, failures: 4, failureMx: 'mx2.example.com' }),
      makeReport({ org: 'A', domain: 'example.com', day: '2026-11-21', ok: 70, mode: 'enforce' }),
      makeReport({ org: 'A', domain: 'other.example', day: '2026-11-21', ok: 1 }),
      makeReport({ org: 'A', domain: 'example.com', day: '2026-10-01', ok: 5 }),
      corpusFile('rfc8460-example-mxhost-array.json'),
    ]
    for (const bytes of reports) t.equal((await store.submit({ bytes, transport: 'import', source: 'test' })).status, 'stored')
    const days = await store.summarize({ days: 7, until: '2026-11-21' })
    t.same(days.map(d => [d.domain, d.day, d.reports, d.organizations, d.successfulSessions, d.failedSessions]), [
      ['example.com', '2026-11-20', 2, ['A', 'B'], 150, 4],
      ['example.com', '2026-11-21', 1, ['A'], 70, 0],
      ['other.example', '2026-11-21', 1, ['A'], 1, 0],
    ], 'window of 7 days ending on until; the October report and the 2016 RFC example fall outside')
    const day = days[0]
    t.same(day?.failureTypes, [{ value: 'certificate-expired', sessions: 4 }])
    t.same(day?.failingMxHosts, [{ value: 'mx2.example.com', sessions: 4 }])
    t.same(day?.failingSendingIps, [{ value: '192.0.2.7', sessions: 4 }])
    t.same(day?.policies, [{
      type: 'sts', mode: 'testing', mx: ['mx.example.com'], organizations: ['A', 'B'], successfulSessions: 150, failedSessions: 4,
      failureTypes: [{ value: 'certificate-expired', sessions: 4 }], failingMxHosts: [{ value: 'mx2.example.com', sessions: 4 }],
    }])
    t.same(days[1]?.policies.map(p => p.mode), ['enforce'])
    const one = await store.summarize({ domains: ['other.example'], days: 30, until: '2026-11-30' })
    t.same(one.map(d => [d.domain, d.day]), [['other.example', '2026-11-21']], 'filtered by domain')
    const rfc = await store.summarize({ domains: ['company-y.example'], days: 1, until: '2016-04-01' })
    t.same(rfc[0]?.failureTypes, [
      { value: 'starttls-not-supported', sessions: 200 },
      { value: 'certificate-expired', sessions: 100 },
      { value: 'validation-failure', sessions: 3 },
    ], 'most sessions first')
    t.same([rfc[0]?.successfulSessions, rfc[0]?.failedSessions], [5326, 303])
    t.same(await store.summarize({ domains: ['nobody.example'], days: 7 }), [])
  })

  t.test('concurrent submits of the same report store it once', async t => {
    const store = await open(t)
    const bytes = makeReport({ org: 'Race', day: '2026-11-22' })
    const variants = [bytes, gzipSync(bytes), Buffer.concat([Buffer.from(' '), bytes]), bytes]
    const outcomes = await Promise.all(variants.map(async (b, i) => await store.submit({ bytes: b, transport: 'https', source: `127.0.0.${i + 1}` })))
    t.same(outcomes.map(o => o.status).sort(), ['duplicate', 'duplicate', 'duplicate', 'stored'])
    t.equal((await store.counts()).reports, 1)
  })

  t.test('fetch statistics: flushes add up, networks are kept once, the latest fetch per domain', async t => {
    const store = await open(t)
    const count = (domain: string, policyId: string, day: string, sender: string, fetches: number, lastAt: string) => ({ domain, policyId, day, sender, fetches, lastAt })
    await store.addFetches({ counts: [], networks: [] })
    await store.addFetches({
      counts: [
        count('a.example', 'old', '2026-11-20', 'google', 5, '2026-11-20T08:00:00.000Z'),
        count('a.example', 'old', '2026-11-20', 'other', 1, '2026-11-20T09:00:00.000Z'),
        count('b.example', 'b1', '2026-11-21', 'other', 2, '2026-11-21T01:00:00.000Z'),
      ],
      networks: [
        { domain: 'a.example', day: '2026-11-20', network: '192.0.2.0/24' },
        { domain: 'a.example', day: '2026-11-20', network: '2001:db8:1::/48' },
      ],
    })
    await store.addFetches({
      counts: [
        count('a.example', 'old', '2026-11-20', 'google', 2, '2026-11-20T07:00:00.000Z'),
        count('a.example', 'new', '2026-11-21', 'google', 4, '2026-11-21T12:00:00.000Z'),
      ],
      networks: [
        { domain: 'a.example', day: '2026-11-20', network: '192.0.2.0/24' },
        { domain: 'a.example', day: '2026-11-21', network: '198.51.100.0/24' },
      ],
    })
    const a = await store.fetchesFor('a.example', 7, '2026-11-21')
    t.same(a.days, [
      { day: '2026-11-20', policyId: 'old', sender: 'google', fetches: 7, lastAt: '2026-11-20T08:00:00.000Z' },
      { day: '2026-11-20', policyId: 'old', sender: 'other', fetches: 1, lastAt: '2026-11-20T09:00:00.000Z' },
      { day: '2026-11-21', policyId: 'new', sender: 'google', fetches: 4, lastAt: '2026-11-21T12:00:00.000Z' },
    ], 'summed, and the later last-fetch time kept')
    t.same(a.networks, [{ day: '2026-11-20', count: 2 }, { day: '2026-11-21', count: 1 }], 'a network seen twice counts once')
    t.same((await store.fetchesFor('a.example', 1, '2026-11-20')).days.length, 2, 'limited to the days asked for')
    t.same((await store.lastFetches()).sort((x, y) => x.domain < y.domain ? -1 : 1), [
      { domain: 'a.example', at: '2026-11-21T12:00:00.000Z', sender: 'google', policyId: 'new' },
      { domain: 'b.example', at: '2026-11-21T01:00:00.000Z', sender: 'other', policyId: 'b1' },
    ])
    const many = Array.from({ length: 1200 }, (_, i) => count(`t${i}.example`, 'x', '2026-11-22', 'other', 1, '2026-11-22T00:00:00.000Z'))
    await store.addFetches({ counts: many, networks: [] })
    t.equal((await store.lastFetches()).length, 1202, 'more rows than one INSERT takes')
  })

  t.test('policy history: only changes are recorded; newest first; latest per domain', async t => {
    const store = await open(t)
    const change = (domain: string, at: string, mode: string, policyId: string) => ({ domain, at, mode, policyId })
    t.equal(await store.recordPolicyChanges([]), 0)
    t.equal(await store.recordPolicyChanges([change('a.example', '2026-11-01T00:00:00.000Z', 'testing', 'id1'), change('b.example', '2026-11-01T00:00:00.000Z', 'enforce', 'b1')]), 2)
    t.equal(await store.recordPolicyChanges([change('a.example', '2026-11-02T00:00:00.000Z', 'testing', 'id1')]), 0, 'a restart with the same policy records nothing')
    t.equal(await store.recordPolicyChanges([change('a.example', '2026-11-03T00:00:00.000Z', 'enforce', 'id2'), change('a.example', '2026-11-03T00:00:00.000Z', 'enforce', 'id2')]), 1, 'a repeat within one call counts once')
    t.equal(await store.recordPolicyChanges([change('b.example', '2026-11-04T00:00:00.000Z', 'removed', '')]), 1)
    t.same(await store.policyHistory('a.example', 10), [change('a.example', '2026-11-03T00:00:00.000Z', 'enforce', 'id2'), change('a.example', '2026-11-01T00:00:00.000Z', 'testing', 'id1')])
    t.same(await store.policyHistory('a.example', 1), [change('a.example', '2026-11-03T00:00:00.000Z', 'enforce', 'id2')])
    t.same((await store.latestPolicies()).sort((x, y) => x.domain < y.domain ? -1 : 1), [change('a.example', '2026-11-03T00:00:00.000Z', 'enforce', 'id2'), change('b.example', '2026-11-04T00:00:00.000Z', 'removed', '')])
  })

  t.test('report totals per domain over a span of days, in one query', async t => {
    const store = await open(t)
    await store.submit({ bytes: makeReport({ org: 'One', domain: 'a.example', day: '2026-11-20', ok: 10, failures: 2 }), transport: 'import', source: 'x' })
    await store.submit({ bytes: makeReport({ org: 'Two', domain: 'a.example', day: '2026-11-21', ok: 5, failures: 0 }), transport: 'import', source: 'x' })
    await store.submit({ bytes: makeReport({ org: 'One', domain: 'b.example', day: '2026-11-10', ok: 1 }), transport: 'import', source: 'x' })
    t.same(await store.reportTotals(7, '2026-11-21'), [{ domain: 'a.example', successful: 15, failed: 2, organizations: 2 }])
    t.same((await store.reportTotals(30, '2026-11-21')).map(r => r.domain), ['a.example', 'b.example'])
  })
}
