import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { checkCommand } from '../../src/cli/check.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { writeReportDatabase } from '../helpers/report-store.js'
import { startService, tempDir } from '../helpers/service-harness.js'
import { startSmtpServer } from '../helpers/smtp-servers.js'

function capture () {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c: Buffer) => { out += c.toString() })
  stderr.on('data', (c: Buffer) => { err += c.toString() })
  return { io: { stdout, stderr }, out: () => out, err: () => err }
}

const TENANTS = `tenants:
  example.com:
    mode: testing
    mx: [mx1.example.com]
    rua: ["mailto:tlsrpt@example.com"]
  example.org:
    mx: ["*.mx.example.org"]
`

t.test('check: a complete set-up passes; drift, an uncovered MX and a missing record are found', async t => {
  // The service under test serves the policies; the same config drives `check`.
  const h = await startService(t, TENANTS)
  const snapshot = h.service.holder.snapshot
  const idOf = (domain: string) => snapshot.byHost.get(`mta-sts.${domain}`)!.id
  const mxCert = await h.service.issuer.obtain('mx1.example.com')
  const smtp = await startSmtpServer(t, { key: mxCert.keyPem, cert: mxCert.certPem })
  const dns = await startDnsServer(t, {
    '_mta-sts.example.com': { TXT: [[`v=STSv1; id=${idOf('example.com')}`]] },
    'mta-sts.example.com': { A: ['127.0.0.1'] },
    'example.com': { MX: [{ exchange: 'mx1.example.com', priority: 10 }] },
    'mx1.example.com': { A: ['127.0.0.1'] },
    '_smtp._tls.example.com': { TXT: [['v=TLSRPTv1; rua=mailto:tlsrpt@example.com']] },
    // example.org: the TXT id is stale, one MX is not covered, no TLS-RPT record.
    '_mta-sts.example.org': { TXT: [['v=STSv1; id=20240101000000']] },
    'mta-sts.example.org': { A: ['127.0.0.1'] },
    'example.org': { MX: [{ exchange: 'a.mx.example.org', priority: 10 }, { exchange: 'legacy.example.net', priority: 20 }] },
    'a.mx.example.org': { A: ['127.0.0.1'] },
    'legacy.example.net': { A: ['127.0.0.1'] },
  })
  const dir = await tempDir(t)
  const caFile = join(dir, 'ca.pem')
  await writeFile(caFile, h.caPem)
  const config = join(dir, 'check.yaml')
  await writeFile(config, [
    'check:',
    `  resolvers: ["${dns.address}"]`,
    `  https_port: ${h.addresses.https.port}`,
    `  smtp_port: ${smtp.port}`,
    `  ca_file: ${JSON.stringify(caFile)}`,
    '  expiry_warning_days: 0',
    '  timeout_ms: 3000',
    '  monitor: { interval: 0 }',
    TENANTS,
  ].join('\n'))

  const good = capture()
  t.equal(await checkCommand({ config, domains: ['Example.COM.'] }, good.io), 0, 'all pass: exit 0')
  t.match(good.out(), /example\.com\n  PASS {2}/)
  t.match(good.out(), /=> ready for enforce/)
  t.notMatch(good.out(), /FAIL|WARN/)
  t.notMatch(good.out(), /\u001b\[/, 'no colour when not asked')

  const bad = capture()
  t.equal(await checkCommand({ config, domains: ['example.org'], json: true }, bad.io), 2, 'a failure: exit 2')
  const report = JSON.parse(bad.out()) as { exitCode: number; domains: { domain: string; readyForEnforce: boolean; results: { id: string; status: string; reason: string }[] }[] }
  t.equal(report.exitCode, 2)
  const org = report.domains[0]!
  t.equal(org.readyForEnforce, false)
  const byId = new Map(org.results.map(r => [r.id, r]))
  t.equal(byId.get('sts-txt')?.status, 'fail', 'TXT id drift fails')
  t.match(byId.get('sts-txt')?.reason, idOf('example.org'))
  t.equal(byId.get('mx-coverage')?.status, 'fail', 'legacy.example.net is not covered')
  t.match(byId.get('mx-coverage')?.reason, /legacy\.example\.net/)
  t.equal(byId.get('tlsrpt-txt')?.status, 'warn', 'no TLS-RPT record is a warning')
  t.equal(byId.get('policy')?.status, 'pass', 'the policy host itself is fine')
  t.ok(org.results.some(r => r.id === 'mx-tls:a.mx.example.org'), 'each MX host probed')

  const all = capture()
  t.equal(await checkCommand({ config, domains: [], colour: true }, all.io), 2, 'all tenants, worst is a failure')
  t.match(all.out(), /2 domain\(s\): 1 pass, 0 warn, 1 fail; 1 ready for enforce/)
  t.match(all.out(), '\u001b[31m')

  const unknown = capture()
  t.equal(await checkCommand({ config, domains: ['example.net'] }, unknown.io), 1, 'a domain without MTA-STS that is not a tenant: findings only')
  t.match(unknown.out(), /^example\.net \(not a tenant: its set-up as hosted today\)\n/)
  t.match(unknown.out(), /- no MTA-STS today: start with mode testing/)
  t.match(unknown.out(), /1 domain\(s\): 0 pass, 1 warn, 0 fail; 0 ready for enforce; 1 not a tenant/)

  const notAName = capture()
  t.equal(await checkCommand({ config, domains: ['example.com', 'not a domain'] }, notAName.io), 2)
  t.match(notAName.err(), 'error: "not a domain" has invalid characters')
  t.equal(notAName.out(), '', 'nothing checked')

  const invalid = capture()
  await writeFile(join(dir, 'bad.yaml'), 'tenants: {}\n')
  t.equal(await checkCommand({ config: join(dir, 'bad.yaml'), domains: [] }, invalid.io), 2)
  t.match(invalid.err(), /bad\.yaml:1:10: tenants must not be empty/)

  const warnOnly = capture()
  // Resolvers from the command line win over the file; the same server here.
  t.equal(await checkCommand({ config, domains: ['example.com'], resolvers: [dns.address] }, warnOnly.io), 0)
})

t.test('check over 1,000 tenants whose DNS never answers finishes, every step bounded', async t => {
  const domains = Array.from({ length: 1000 }, (_, i) => `t${i}.example`)
  const zone: Record<string, { silent: true }> = {}
  for (const d of domains) for (const name of [d, `_mta-sts.${d}`, `mta-sts.${d}`, `_smtp._tls.${d}`]) zone[name] = { silent: true }
  const dns = await startDnsServer(t, zone)
  const dir = await tempDir(t)
  const config = join(dir, 'many.yaml')
  await writeFile(config, [
    'check:',
    `  resolvers: ["${dns.address}"]`,
    '  timeout_ms: 150',
    '  concurrency: 250',
    '  monitor: { interval: 0 }',
    'defaults:',
    '  mx: [mx.example.net]',
    'tenants:',
    ...domains.map(d => `  ${d}: {}`),
    '',
  ].join('\n'))
  const out = capture()
  const started = Date.now()
  t.equal(await checkCommand({ config, domains: [], json: true }, out.io), 2)
  const report = JSON.parse(out.out()) as { domains: { domain: string; results: { status: string; reason: string }[] }[] }
  t.equal(report.domains.length, 1000, 'every tenant reported')
  t.ok(report.domains.every(d => d.results.every(r => r.status !== 'pass')), 'nothing passes without DNS answers')
  t.comment(`1,000 tenants checked in ${Date.now() - started} ms`)
})

t.test('check: the policy host certificate follows the renewal schedule of the configured issuer', async t => {
  // The internal CA's 7-day certificate, fresh: on schedule for a managed issuer, but within 7 days of
  // expiry for certificates this service does not renew (issuer files).
  const h = await startService(t, TENANTS)
  const dns = await startDnsServer(t, { 'mta-sts.example.com': { A: ['127.0.0.1'] } })
  const dir = await tempDir(t)
  const caFile = join(dir, 'ca.pem')
  await writeFile(caFile, h.caPem)
  const checkSettings = ['check:', `  resolvers: ["${dns.address}"]`, `  https_port: ${h.addresses.https.port}`, `  ca_file: ${JSON.stringify(caFile)}`, '  timeout_ms: 3000', '  monitor: { interval: 0 }']
  const policyResult = async (certificates: string[]): Promise<{ status: string; reason: string } | undefined> => {
    const config = join(dir, 'check.yaml')
    await writeFile(config, [...checkSettings, ...certificates, TENANTS].join('\n'))
    const out = capture()
    await checkCommand({ config, domains: ['example.com'], json: true }, out.io)
    const report = JSON.parse(out.out()) as { domains: { results: { id: string; status: string; reason: string }[] }[] }
    return report.domains[0]?.results.find(r => r.id === 'policy')
  }
  t.match(await policyResult(['certificates:', '  issuer: internal']), { status: 'pass' }, 'managed: a fresh certificate does not warn')
  t.match(await policyResult(['certificates:', '  issuer: files', `  files: { directory: ${JSON.stringify(dir)} }`]), {
    status: 'warn',
    reason: /^the certificate of mta-sts\.example\.com is not renewed by this service and it expires in 6 day\(s\)/,
  }, 'files: within 7 days of expiry')
})

t.test('check: the TLS reports check weighs the report database, or is skipped with a warning when there is none', async t => {
  const dns = await startDnsServer(t, {})
  const dir = await tempDir(t)
  const database = join(dir, 'reports.sqlite')
  const config = join(dir, 'check.yaml')
  await writeFile(config, [
    'check:',
    `  resolvers: ["${dns.address}"]`,
    '  timeout_ms: 500',
    '  monitor: { interval: 0 }',
    `reports: { database: ${JSON.stringify(database)}, verdict: { required: false } }`,
    TENANTS,
  ].join('\n'))
  const tlsReports = async (): Promise<{ err: string, result?: { status: string, reason: string } }> => {
    const out = capture()
    await checkCommand({ config, domains: ['example.com'], json: true }, out.io)
    const report = JSON.parse(out.out()) as { domains: { results: { id: string; status: string; reason: string }[] }[] }
    return { err: out.err(), result: report.domains[0]?.results.find(r => r.id === 'tls-reports') }
  }
  const skipped = await tlsReports()
  t.equal(skipped.err, `warn: no report database at ${database}: the TLS reports check is skipped\n`)
  t.equal(skipped.result, undefined)

  const today = new Date().toISOString().slice(0, 10)
  await writeReportDatabase(database, ['google.com', 'microsoft.com'].map(organization => ({
    organization, day: today, policies: [{ mode: 'testing', mx: ['mx1.example.com'], successful: 10 }],
  })), new Date().toISOString())
  const weighed = await tlsReports()
  t.equal(weighed.err, '')
  t.match(weighed.result, { status: 'pass', reason: /^2 organizations reported 20 sessions under the served policy in the last 7 days, none failed$/ })
})
