// TLS report (RFC 8460) part of the benchmark: HTTPS ingest, `reports import`,
// gzip bombs, policy serving during a report burst, and the summary query on
// a year of reports. Every number comes with a reference measured in the same
// run (import vs. HTTPS ingest, RSS before vs. after, wrk idle vs. during,
// summarize vs. a plain SELECT of the same rows). Loopback only; every loop is
// bounded in count and in time.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import MailComposer from 'nodemailer/lib/mail-composer'
import { cpuSeconds, freePort, have, run, stopChild } from './proc.mjs'
import { expectedPolicy, fetchPolicy, MAIN, POLICY_PATH, serviceYaml, spawnService, tenantDomain, tenantHost, waitReady } from './service.mjs'
import { curlFetch, runWrk, wrkProblems } from './wrk.mjs'

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url))
export const REPORT_PATH = '/tlsrpt'
const DAY_MS = 86_400_000
const BASE_DAY = Date.parse('2026-01-01T00:00:00Z')
const ORGS = ['Google Inc.', 'Microsoft Corporation', 'Yahoo', 'Comcast', 'Mail.ru', 'GMX', 'Fastmail']
const BOMB_RSS_LIMIT_KIB = 50 * 1024
const SERVE_RATIO_TARGET = 0.9
const SUMMARY_TARGET_MS = 200

export const REPORTS_DEFAULTS = Object.freeze({
  reports: 10_000,
  tenants: 100,
  concurrency: 16,
  mboxMails: 1000,
  bombs: 20,
  bombBytes: 5_000_000,
  bombConcurrency: 1,
  burst: 1000,
  summaryTenants: 1000,
  summaryDays: 365,
  summaryOrgs: 3,
  summaryQueries: 50,
  summaryBudgetS: 110,
  maxWaitS: 300,
  // reports.max_report_bytes of the bomb/burst instance (undefined: the service default, 32 MiB).
  maxReportBytes: undefined,
  ingestRate: undefined,
})

const day = i => new Date(BASE_DAY + i * DAY_MS).toISOString().slice(0, 10)
const percentile = (values, p) => {
  const v = values.filter(x => typeof x === 'number').sort((a, b) => a - b)
  if (v.length === 0) return undefined
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))]
}
const median = values => {
  const v = values.filter(x => typeof x === 'number').sort((a, b) => a - b)
  if (v.length === 0) return undefined
  const mid = Math.floor(v.length / 2)
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** A small deterministic PRNG (mulberry32), so runs pick the same tenants. */
function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** VmRSS and VmHWM (KiB) of `pid`. */
export function memKiB (pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8')
    const get = k => { const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s); return m ? Number(m[1]) : undefined }
    return { rss: get('VmRSS'), hwm: get('VmHWM') }
  } catch {
    return { rss: undefined, hwm: undefined }
  }
}

/** A valid RFC 8460 report (the shape of test/helpers/report-store-contract.ts makeReport). */
export function reportJson ({ org, id, domain, dayIndex, ok = 1000, failures = 0 }) {
  const d = day(dayIndex)
  const mx = [`mx1.${domain}`, `mx2.${domain}`]
  return Buffer.from(JSON.stringify({
    'organization-name': org,
    'date-range': { 'start-datetime': `${d}T00:00:00Z`, 'end-datetime': `${d}T23:59:59Z` },
    'contact-info': `tlsrpt@${org.toLowerCase().replace(/[^a-z0-9]+/g, '')}.example`,
    'report-id': id,
    policies: [{
      policy: {
        'policy-type': 'sts',
        'policy-string': ['version: STSv1', 'mode: testing', ...mx.map(m => `mx: ${m}`), 'max_age: 604800'],
        'policy-domain': domain,
        'mx-host': mx,
      },
      summary: { 'total-successful-session-count': ok, 'total-failure-session-count': failures },
      ...(failures > 0
        ? { 'failure-details': [{ 'result-type': 'certificate-expired', 'sending-mta-ip': '192.0.2.7', 'receiving-mx-hostname': mx[0], 'failed-session-count': failures }] }
        : {}),
    }],
  }))
}

/**
 * `n` distinct reports spread over `tenants` tenants (index i -> tenant i % tenants + 1,
 * organization, day), ids prefixed with `tag`. Returns [{i, tenant, host, json}].
 */
export function makeReports ({ n, tenants, tag, tenantOf = i => (i % tenants) + 1 }) {
  const out = []
  for (let i = 0; i < n; i++) {
    const tenant = tenantOf(i)
    const org = ORGS[Math.floor(i / tenants) % ORGS.length]
    const dayIndex = Math.floor(i / (tenants * ORGS.length)) % 365
    out.push({ i, tenant, host: tenantHost(tenant), json: reportJson({ org, id: `${tag}-${i}`, domain: tenantDomain(tenant), dayIndex, ok: 100 + (i % 900), failures: i % 10 === 0 ? 1 + (i % 7) : 0 }) })
  }
  return out
}

/** The service configuration of this part: `n` tenants, internal CA, the given `reports:` lines. */
export function reportsConfigYaml ({ n, ports, storage, reportsLines }) {
  const tenants = []
  for (let i = 1; i <= n; i++) tenants.push(`  ${tenantDomain(i)}:`)
  return serviceYaml({ ports, certificates: ['  issuer: internal', `  storage: ${JSON.stringify(storage)}`], tenants }) + ['reports:', ...reportsLines, ''].join('\n')
}

/**
 * Spawn the service with `n` tenants and `reports.rate_limit.max` 1,000,000 (and `ingest_rate` when
 * given; the service's default paces uploads service-wide); wait until ready.
 */
async function startReportService ({ dir, n, maxWaitMs, maxReportBytes, ingestRate }) {
  mkdirSync(dir, { recursive: true })
  const ports = { https: await freePort(), http: await freePort(), ops: await freePort() }
  const storage = join(dir, 'storage')
  const database = join(dir, 'reports.sqlite')
  const configFile = join(dir, 'config.yaml')
  writeFileSync(configFile, reportsConfigYaml({ n, ports, storage, reportsLines: ['  rate_limit: { max: 1000000, window: 60 }', `  database: ${JSON.stringify(database)}`, ...(maxReportBytes ? [`  max_report_bytes: ${maxReportBytes}`] : []), ...(ingestRate ? [`  ingest_rate: ${ingestRate}`] : [])] }))
  const svc = { ...spawnService({ dir, configFile, storage }), n, ports, database }
  try {
    await waitReady(svc, maxWaitMs)
  } catch (err) {
    await stopChild(svc.child, 15_000)
    svc.logs.close()
    throw err
  }
  return svc
}

async function stopService (svc) {
  if (!svc) return
  const r = await stopChild(svc.child, 15_000)
  try { svc.logs.close() } catch { /* closed */ }
  return r
}

/** One POST of `body` to `host`'s report path over `agent`. Resolves {status, ms, reused, text}; never rejects. */
export function upload ({ port, host, body, ca, agent, timeoutMs = 30_000 }) {
  return new Promise(resolve => {
    const t0 = performance.now()
    const req = https.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: REPORT_PATH,
      servername: host,
      ca,
      agent,
      timeout: timeoutMs,
      headers: { host, 'content-type': 'application/tlsrpt+gzip', 'content-length': body.length },
    }, res => {
      const chunks = []
      res.on('data', c => { if (chunks.length < 16) chunks.push(c) })
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0, at: performance.now(), reused: req.reusedSocket, text: Buffer.concat(chunks).toString('utf8').slice(0, 300) }))
      res.on('error', err => resolve({ status: 0, ms: performance.now() - t0, at: performance.now(), error: err.message }))
    })
    req.on('timeout', () => req.destroy(new Error(`upload to ${host}: timeout after ${timeoutMs} ms`)))
    req.on('error', err => resolve({ status: 0, ms: performance.now() - t0, at: performance.now(), error: err.message }))
    req.end(body)
  })
}

/**
 * Upload `jobs` ([{host, body}]) with `concurrency` workers, each with its own keep-alive
 * agent (one socket per tenant host: a sender keeps one connection to a receiver). Jobs are
 * grouped by host into chunks of `chunk`, so a worker reuses its connection within a chunk.
 * Stops at `deadline` (performance.now()). Returns the per-job results in job order.
 */
export async function runUploads ({ jobs, concurrency, port, ca, deadline, chunk = 25 }) {
  const byHost = new Map()
  jobs.forEach((job, index) => {
    if (!byHost.has(job.host)) byHost.set(job.host, [])
    byHost.get(job.host).push(index)
  })
  // Chunks in round-robin order over the hosts, so concurrent workers mostly work on different tenants.
  const chunks = []
  const perHost = [...byHost.values()].map(indexes => {
    const list = []
    for (let i = 0; i < indexes.length; i += chunk) list.push(indexes.slice(i, i + chunk))
    return list
  })
  for (let k = 0; perHost.some(list => k < list.length); k++) for (const list of perHost) if (k < list.length) chunks.push(list[k])
  const results = new Array(jobs.length)
  let next = 0
  let timedOut = false
  const agents = []
  const worker = async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 })
    agents.push(agent)
    while (next < chunks.length) {
      const mine = chunks[next++]
      for (const index of mine) {
        if (performance.now() > deadline) { timedOut = true; return }
        const job = jobs[index]
        results[index] = await upload({ port, host: job.host, body: job.body, ca, agent })
      }
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker))
  const wallMs = performance.now() - t0
  for (const agent of agents) agent.destroy()
  return { results, wallMs, timedOut, startedAt: t0 }
}

/** Status histogram and the first few unexpected answers of upload results. */
function tally (results, expected) {
  const statuses = {}
  const unexpected = []
  let missing = 0
  let reused = 0
  for (const r of results) {
    if (r === undefined) { missing++; continue }
    statuses[r.status] = (statuses[r.status] ?? 0) + 1
    if (r.reused) reused++
    if (r.status !== expected && unexpected.length < 5) unexpected.push(`${r.status} ${r.error ?? r.text?.trim() ?? ''}`)
  }
  return { statuses, unexpected, missing, reused }
}

/** Counts in a report database file, opened read-only. */
export function dbCounts (file) {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const one = sql => db.prepare(sql).pluck().get()
    return {
      reports: one('SELECT count(*) FROM reports'),
      policies: one('SELECT count(*) FROM report_policies'),
      failures: one('SELECT count(*) FROM report_failures'),
      raw: Object.fromEntries(db.prepare('SELECT status, count(*) AS n FROM raw_reports GROUP BY status').all().map(r => [r.status, r.n])),
      integrity: one('PRAGMA quick_check'),
    }
  } finally {
    db.close()
  }
}

function fileBytes (file) {
  let total = 0
  for (const f of [file, `${file}-wal`, `${file}-shm`]) { try { total += statSync(f).size } catch { /* absent */ } }
  return total
}

function fsType (dir) {
  try {
    // The mount whose path is the longest prefix of `dir`.
    let best = { path: '', type: undefined }
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, path, type] = line.split(' ')
      if (path && (dir === path || dir.startsWith(path.endsWith('/') ? path : `${path}/`)) && path.length >= best.path.length) best = { path, type }
    }
    return `${best.type} (${best.path})`
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------

/**
 * The reports benchmark. Options (see REPORTS_DEFAULTS): `reports` uploads/imports, `tenants`,
 * `concurrency`, `mboxMails`, `bombs`, `bombBytes`, `bombConcurrency`, `burst`, `summary*`,
 * `wrk` {threads, connections, duration_s, warmup_s, rounds}, `skip` (a Set of part names:
 * ingest, import, bomb, burst, summary). Failures go to `fail` and into the part's `error`.
 */
export async function reportsPhase ({ root, log, fail, wrk, skip = new Set(), ...options }) {
  const o = { ...REPORTS_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) }
  const maxWaitMs = o.maxWaitS * 1000
  const dir = join(root, 'reports')
  mkdirSync(dir, { recursive: true })
  const out = { settings: { ...o, wrk }, filesystem: fsType(dir) }
  const part = async (name, fn) => {
    if (skip.has(name)) return
    const t0 = performance.now()
    try {
      out[name] = await fn()
    } catch (err) {
      out[name] = { ...(err.partial ?? {}), error: err.message.split('\n')[0] }
      fail(`reports ${name}`, err)
    }
    log(`reports: ${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }

  // The reports of the ingest and import parts (the same set: each gets a fresh database).
  let reports = []
  if (!skip.has('ingest') || !skip.has('import')) {
    log(`reports: generating ${o.reports} gzipped reports for ${o.tenants} tenants`)
    reports = makeReports({ n: o.reports, tenants: o.tenants, tag: 'ingest' })
    for (const r of reports) r.body = gzipSync(r.json)
    out.report_bytes = { json_avg: reports.reduce((s, r) => s + r.json.length, 0) / reports.length, gzip_avg: reports.reduce((s, r) => s + r.body.length, 0) / reports.length }
  }

  await part('ingest', () => ingestPart({ dir: join(dir, 'ingest'), o, reports, maxWaitMs, log }))
  await part('import', () => importPart({ dir: join(dir, 'import'), o, reports, maxWaitMs, log }))
  if (out.ingest?.reports_per_s && out.import?.reports_per_s) out.import.ratio_vs_https = out.import.reports_per_s / out.ingest.reports_per_s

  if (!skip.has('bomb') || !skip.has('burst')) {
    let svc
    try {
      log(`reports: starting the service with ${o.tenants} tenants for the gzip bombs and the burst`)
      svc = await startReportService({ dir: join(dir, 'service-b'), n: o.tenants, maxWaitMs, maxReportBytes: o.maxReportBytes, ingestRate: o.ingestRate })
      const ca = readFileSync(svc.caFile)
      // Sanity: a policy and one report answer as they should.
      const policy = await fetchPolicy({ port: svc.ports.https, host: tenantHost(1), ca })
      if (policy.status !== 200 || !policy.body.equals(expectedPolicy('testing'))) throw new Error(`policy of ${tenantHost(1)}: status ${policy.status}`)
      const probe = await upload({ port: svc.ports.https, host: tenantHost(2), body: gzipSync(reportJson({ org: 'Probe', id: 'probe-1', domain: tenantDomain(2), dayIndex: 0 })), ca, agent: false })
      if (probe.status !== 201) throw new Error(`probe upload: ${probe.status} ${probe.error ?? probe.text}`)
      await part('bomb', () => bombPart({ svc, ca, o, maxWaitMs, log }))
      await part('burst', () => burstPart({ dir: join(dir, 'burst'), svc, ca, o, wrk, maxWaitMs, log }))
      // Stored by this instance: the probe, the upload after the bombs, the burst uploads answered 201.
      if (out.burst && !out.burst.error) out.burst.expected_reports = 1 + (out.bomb?.upload_after === 201 ? 1 : 0) + out.burst.stored_201
    } catch (err) {
      fail('reports service', err)
      out.service_error = err.message.split('\n')[0]
    } finally {
      const stopped = await stopService(svc)
      if (svc && out.burst && !out.burst.error) {
        const counts = dbCounts(svc.database)
        out.burst.db_after = counts
        const expected = out.burst.expected_reports
        if (counts.reports !== expected) {
          out.burst.error = `the database holds ${counts.reports} reports, expected ${expected}`
          fail('reports burst', out.burst.error)
        }
        if (stopped && stopped.code !== 0 && stopped.signal !== 'SIGTERM') out.burst.stop_exit = stopped.code ?? stopped.signal
      }
    }
  }
  await part('summary', () => summaryPart({ dir: join(dir, 'summary'), o, log }))
  return out
}

// 1. HTTPS ingest ------------------------------------------------------------

async function ingestPart ({ dir, o, reports, maxWaitMs, log }) {
  log(`reports ingest: starting the service with ${o.tenants} tenants`)
  // Capacity, not pacing: the service-wide ingest rate is lifted for this part.
  const svc = await startReportService({ dir, n: o.tenants, maxWaitMs, ingestRate: 100000 })
  const out = { reports: reports.length, tenants: o.tenants, concurrency: o.concurrency }
  let stopped
  try {
    const ca = readFileSync(svc.caFile)
    // Every tenant's first handshake issues its certificate: do it before measuring.
    for (let t = 1; t <= o.tenants; t++) {
      const r = await fetchPolicy({ port: svc.ports.https, host: tenantHost(t), ca })
      if (r.status !== 200) throw new Error(`${tenantHost(t)}: policy status ${r.status}`)
    }
    out.rss_before_kib = memKiB(svc.child.pid)
    const cpu0 = cpuSeconds(svc.child.pid)
    log(`reports ingest: uploading ${reports.length} reports at concurrency ${o.concurrency}`)
    const run = await runUploads({ jobs: reports, concurrency: o.concurrency, port: svc.ports.https, ca, deadline: performance.now() + maxWaitMs })
    out.service_cpu_pct = ((cpuSeconds(svc.child.pid) - cpu0) / (run.wallMs / 1000)) * 100
    out.rss_after_kib = memKiB(svc.child.pid)
    const t = tally(run.results, 201)
    out.wall_s = run.wallMs / 1000
    out.reports_per_s = (t.statuses[201] ?? 0) / out.wall_s
    const ms = run.results.filter(Boolean).map(r => r.ms)
    out.latency_ms = { p50: percentile(ms, 50), p90: percentile(ms, 90), p99: percentile(ms, 99), max: percentile(ms, 100) }
    out.statuses = t.statuses
    out.connections_reused = t.reused
    out.rss_growth_kib = out.rss_after_kib.rss - out.rss_before_kib.rss
    const problems = []
    if (run.timedOut) problems.push(`stopped after ${maxWaitMs / 1000} s with ${t.missing} uploads not sent`)
    if ((t.statuses[201] ?? 0) !== reports.length) problems.push(`${t.statuses[201] ?? 0}/${reports.length} answers were 201 (${JSON.stringify(t.statuses)}; e.g. ${t.unexpected.join(' | ')})`)
    if (problems.length) throw Object.assign(new Error(problems.join('; ')), { partial: out })
    log(`reports ingest: ${reports.length} in ${out.wall_s.toFixed(1)} s (${out.reports_per_s.toFixed(0)}/s)`)
  } finally {
    stopped = await stopService(svc)
  }
  if (stopped.code !== 0 && stopped.signal !== 'SIGTERM') out.stop_exit = stopped.code ?? stopped.signal
  out.db = dbCounts(svc.database)
  out.db_bytes = fileBytes(svc.database)
  if (out.db.reports !== reports.length || out.db.raw.parsed !== reports.length) throw new Error(`after the service stopped, the database holds ${out.db.reports} reports (${JSON.stringify(out.db.raw)}), expected ${reports.length}`)
  if (out.db.integrity !== 'ok') throw new Error(`quick_check: ${out.db.integrity}`)
  return out
}

// 2. reports import ----------------------------------------------------------

/** An mbox (mboxrd) of RFC 8460 report mails around `reports`, built like test/helpers/report-mails.ts. */
async function buildMbox (reports) {
  const parts = []
  for (const r of reports) {
    const name = `bench-${r.i}`
    const composer = new MailComposer({
      from: 'tlsrpt@reporter.example',
      to: `tlsrpt@${tenantDomain(r.tenant)}`,
      subject: `Report Domain: ${tenantDomain(r.tenant)} Submitter: reporter.example Report-ID: <${name}>`,
      headers: { 'TLS-Report-Domain': tenantDomain(r.tenant), 'TLS-Report-Submitter': 'reporter.example' },
      text: 'This is an aggregate TLS report.',
      attachments: [{ filename: `reporter.example!${tenantDomain(r.tenant)}!0!1!${name}.json.gz`, content: r.body, contentType: 'application/tlsrpt+gzip' }],
    })
    const node = composer.compile()
    node.setHeader('Content-Type', 'multipart/report; report-type=tlsrpt')
    const mail = (await node.build()).toString('latin1').replace(/^(>*From )/gm, '>$1')
    parts.push(`From tlsrpt@reporter.example Thu Jan  1 00:00:00 2026\n${mail}${mail.endsWith('\n') ? '' : '\n'}\n`)
  }
  return Buffer.from(parts.join(''), 'latin1')
}

/** Split `paths` into argument lists of at most `maxBytes` (ARG_MAX is shared with the environment). */
function batches (paths, maxBytes = 512 * 1024) {
  const out = [[]]
  let size = 0
  for (const p of paths) {
    if (size + p.length + 1 > maxBytes && out.at(-1).length) { out.push([]); size = 0 }
    out.at(-1).push(p)
    size += p.length + 1
  }
  return out
}

async function importPart ({ dir, o, reports, maxWaitMs, log }) {
  if (!have('/usr/bin/time')) throw new Error('/usr/bin/time not found (Debian package "time"): needed for the peak RSS of the import')
  const files = join(dir, 'files')
  mkdirSync(files, { recursive: true })
  const inMbox = Math.min(o.mboxMails, reports.length)
  const asFiles = reports.slice(0, reports.length - inMbox)
  const paths = []
  asFiles.forEach((r, k) => {
    const gz = k % 2 === 1
    const p = join(files, `r${r.i}.json${gz ? '.gz' : ''}`)
    writeFileSync(p, gz ? r.body : r.json)
    paths.push(p)
  })
  log(`reports import: building an mbox of ${inMbox} mails`)
  const mbox = await buildMbox(reports.slice(reports.length - inMbox))
  const mboxPath = join(files, 'reports.mbox')
  writeFileSync(mboxPath, mbox)
  paths.push(mboxPath)
  const database = join(dir, 'reports.sqlite')
  const configFile = join(dir, 'config.yaml')
  const ports = { https: await freePort(), http: await freePort(), ops: await freePort() }
  writeFileSync(configFile, reportsConfigYaml({ n: o.tenants, ports, storage: join(dir, 'storage'), reportsLines: [`  database: ${JSON.stringify(database)}`] }))
  const out = {
    reports: reports.length,
    files: { json: asFiles.length - Math.floor(asFiles.length / 2), json_gz: Math.floor(asFiles.length / 2), mbox: 1, mbox_mails: inMbox, mbox_bytes: mbox.length },
    batches: [],
  }
  const deadline = performance.now() + maxWaitMs
  let stored = 0
  for (const batch of batches(paths)) {
    const remaining = deadline - performance.now()
    if (remaining <= 0) throw new Error(`import did not finish within ${maxWaitMs / 1000} s`)
    log(`reports import: node dist/main.js reports import with ${batch.length} paths`)
    const t0 = performance.now()
    const r = await run('/usr/bin/time', ['-v', process.execPath, MAIN, 'reports', 'import', '--config', configFile, ...batch], { timeoutMs: remaining })
    const wallMs = performance.now() - t0
    const peak = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)
    const total = /^total: (\d+) stored, (\d+) already stored, (\d+) invalid, (\d+) set aside, (\d+) unreadable$/m.exec(r.stdout)
    const single = /: (\d+) stored, (\d+) already stored, (\d+) invalid, (\d+) set aside$/m.exec(r.stdout)
    const batchStored = total ? Number(total[1]) : single ? Number(single[1]) : 0
    stored += batchStored
    out.batches.push({ paths: batch.length, wall_ms: wallMs, peak_rss_kib: peak ? Number(peak[1]) : undefined, exit: r.code, stored: batchStored })
    if (r.code !== 0) throw new Error(`reports import exited with ${r.code}: ${r.stderr.split('\n').filter(l => !/^\s/.test(l)).slice(0, 5).join(' | ')}`)
  }
  out.wall_s = out.batches.reduce((s, b) => s + b.wall_ms, 0) / 1000
  out.reports_per_s = stored / out.wall_s
  out.peak_rss_kib = Math.max(...out.batches.map(b => b.peak_rss_kib ?? 0))
  out.stored = stored
  out.db = dbCounts(database)
  out.db_bytes = fileBytes(database)
  if (stored !== reports.length || out.db.reports !== reports.length) throw new Error(`import stored ${stored}, the database holds ${out.db.reports} reports, expected ${reports.length}`)
  log(`reports import: ${stored} in ${out.wall_s.toFixed(1)} s (${out.reports_per_s.toFixed(0)}/s), peak RSS ${(out.peak_rss_kib / 1024).toFixed(0)} MiB`)
  return out
}

// 3. gzip bombs ---------------------------------------------------------------

/**
 * About `bytes` of gzip that inflate to zeros: gzip members of 64 MiB of zeros each (about
 * 64 KiB compressed, ratio ~1000), concatenated (RFC 1952 allows several members; the service
 * inflates them as one stream), so ~5 MB inflate to ~5 GB without compressing 5 GB here.
 */
export function gzipBomb (bytes) {
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 })
  const count = Math.max(1, Math.floor(bytes / member.length))
  return { body: Buffer.concat(Array.from({ length: count }, () => member)), inflated: count * 64 * 1024 * 1024, members: count }
}

/** POST `count` copies of `body` (`concurrency` at a time) and measure the service's RSS around them. */
async function postAndMeasure ({ svc, ca, body, count, concurrency, tenants, expect, maxWaitMs }) {
  const pid = svc.child.pid
  await new Promise(resolve => setTimeout(resolve, 500))
  const out = { before_kib: memKiB(pid) }
  let peak = out.before_kib.rss ?? 0
  const sampler = setInterval(() => { const m = memKiB(pid); if (m.rss > peak) peak = m.rss }, 5)
  const jobs = Array.from({ length: count }, (_, k) => ({ i: k, host: tenantHost((k % tenants) + 1), body }))
  let run
  try {
    run = await runUploads({ jobs, concurrency, port: svc.ports.https, ca, deadline: performance.now() + maxWaitMs, chunk: 1 })
  } finally {
    clearInterval(sampler)
  }
  await new Promise(resolve => setTimeout(resolve, 200))
  out.after_kib = memKiB(pid)
  peak = Math.max(peak, out.after_kib.rss ?? 0)
  out.peak_sampled_rss_kib = peak
  const hwmGrew = out.after_kib.hwm > out.before_kib.hwm
  out.extra_rss_kib = Math.max(peak - out.before_kib.rss, hwmGrew ? out.after_kib.hwm - out.before_kib.rss : 0)
  out.retained_rss_kib = out.after_kib.rss - out.before_kib.rss
  const ms = run.results.filter(Boolean).map(r => r.ms)
  out.latency_ms = { p50: percentile(ms, 50), max: percentile(ms, 100) }
  const t = tally(run.results, expect)
  out.statuses = t.statuses
  out.sample_answer = run.results.find(r => r?.status === expect)?.text?.trim()
  out.problem = (t.statuses[expect] ?? 0) !== count ? `${t.statuses[expect] ?? 0}/${count} answered ${expect} (${JSON.stringify(t.statuses)}; e.g. ${t.unexpected.join(' | ')})` : undefined
  return out
}

async function bombPart ({ svc, ca, o, maxWaitMs, log }) {
  const bomb = gzipBomb(o.bombBytes)
  const base = { bombs: o.bombs, concurrency: o.bombConcurrency, body_bytes: bomb.body.length, inflates_to_bytes: bomb.inflated, gzip_members: bomb.members, limit_kib: BOMB_RSS_LIMIT_KIB }
  log(`reports bomb: ${o.bombs} gzip bombs of ${(bomb.body.length / 1e6).toFixed(1)} MB (inflating to ${(bomb.inflated / 2 ** 30).toFixed(1)} GiB), concurrency ${o.bombConcurrency}`)
  const m = await postAndMeasure({ svc, ca, body: bomb.body, count: o.bombs, concurrency: o.bombConcurrency, tenants: o.tenants, expect: 413, maxWaitMs })
  const out = { ...base, ...m, pass: m.extra_rss_kib < BOMB_RSS_LIMIT_KIB }
  // The service still takes a report and serves a policy afterwards.
  const after = await upload({ port: svc.ports.https, host: tenantHost(3), body: gzipSync(reportJson({ org: 'Probe', id: 'probe-after-bombs', domain: tenantDomain(3), dayIndex: 0 })), ca, agent: false })
  out.upload_after = after.status

  // Reference: the same number of bodies of the same size that are not reports at all (415 after
  // a look at the first bytes, nothing inflated), on a fresh instance: what buffering them costs.
  let ref
  try {
    log(`reports bomb: reference, ${o.bombs} non-report bodies of the same size on a fresh instance`)
    ref = await startReportService({ dir: join(svc.dir, '..', 'service-bomb-reference'), n: o.tenants, maxWaitMs, maxReportBytes: o.maxReportBytes })
    out.reference_same_size_415 = await postAndMeasure({ svc: ref, ca: readFileSync(ref.caFile), body: Buffer.alloc(bomb.body.length, 0x78), count: o.bombs, concurrency: o.bombConcurrency, tenants: o.tenants, expect: 415, maxWaitMs })
  } catch (err) {
    out.reference_same_size_415 = { error: err.message.split('\n')[0] }
  } finally {
    await stopService(ref)
  }
  const problems = []
  if (m.problem) problems.push(`bombs: ${m.problem}`)
  if (!out.pass) problems.push(`extra RSS ${(out.extra_rss_kib / 1024).toFixed(1)} MiB, limit ${BOMB_RSS_LIMIT_KIB / 1024} MiB`)
  if (after.status !== 201) problems.push(`an upload after the bombs answered ${after.status}`)
  if (problems.length) throw Object.assign(new Error(problems.join('; ')), { partial: out })
  log(`reports bomb: extra RSS ${(out.extra_rss_kib / 1024).toFixed(1)} MiB (${out.pass ? 'PASS' : 'FAIL'})`)
  return out
}

// 4. Policy serving during a report burst -------------------------------------

async function burstPart ({ dir, svc, ca, o, wrk, maxWaitMs, log }) {
  mkdirSync(dir, { recursive: true })
  const loadTenant = 1
  const host = tenantHost(loadTenant)
  const hostsFile = join(dir, 'hosts')
  writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.1 ${host}\n`)
  const url = `https://${host}:${svc.ports.https}${POLICY_PATH}`
  const res = await curlFetch({ hostsFile, url, caFile: svc.caFile, workDir: dir, tag: 'burst-target' })
  if (!res.ok || res.status !== 200 || !res.body.equals(expectedPolicy('testing'))) throw new Error(`curl ${url}: ${res.ok ? `status ${res.status}` : res.error}`)
  // The burst goes to the other tenants (the wrk target's own reports would not change much).
  const burstTenants = Math.max(1, o.tenants - 1)
  const common = { hostsFile, url, connections: wrk.connections, threads: wrk.threads }
  const out = { host, burst: o.burst, concurrency: o.concurrency, rounds: [], wrk, stored_201: 0 }
  log(`reports burst: wrk warm-up (${wrk.warmup_s}s)`)
  const warm = await runWrk({ ...common, durationS: wrk.warmup_s })
  if (wrkProblems(warm).length) throw new Error(`warm-up: ${wrkProblems(warm).join('; ')}`)
  const measure = async () => {
    const cpu0 = cpuSeconds(svc.child.pid)
    const bench0 = process.cpuUsage()
    const w0 = performance.now()
    const r = await runWrk({ ...common, durationS: wrk.duration_s })
    const w1 = performance.now()
    const bench = process.cpuUsage(bench0)
    const { raw, client_cpu_s: clientCpu, client_wall_s: clientWall, ...parsed } = r
    return {
      ...parsed,
      start: w0,
      end: w1,
      server_cpu_pct: ((cpuSeconds(svc.child.pid) - cpu0) / ((w1 - w0) / 1000)) * 100,
      client_cpu_pct: clientWall > 0 ? (clientCpu / clientWall) * 100 : undefined,
      // The uploading client is this process: its CPU competes with the service and wrk.
      uploader_cpu_pct: ((bench.user + bench.system) / 1000 / (w1 - w0)) * 100,
      loadavg: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
      problems: wrkProblems(r),
    }
  }
  const problems = []
  for (let round = 0; round < wrk.rounds; round++) {
    const entry = { round: round + 1 }
    out.rounds.push(entry)
    for (const phase of round % 2 === 0 ? ['idle', 'during'] : ['during', 'idle']) {
      if (phase === 'idle') {
        log(`reports burst: round ${round + 1}/${wrk.rounds} wrk idle (${wrk.duration_s}s)`)
        entry.idle = await measure()
        continue
      }
      const jobs = makeReports({ n: o.burst, tenants: burstTenants, tag: `burst-${round + 1}`, tenantOf: i => (i % burstTenants) + 2 })
      for (const j of jobs) j.body = gzipSync(j.json)
      log(`reports burst: round ${round + 1}/${wrk.rounds} ${o.burst} uploads at concurrency ${o.concurrency} + wrk (${wrk.duration_s}s)`)
      const uploads = runUploads({ jobs, concurrency: o.concurrency, port: svc.ports.https, ca, deadline: performance.now() + maxWaitMs })
      const w = await measure()
      const up = await uploads
      const t = tally(up.results, 201)
      const done = up.results.filter(Boolean)
      const burstEnd = up.startedAt + up.wallMs
      entry.during = {
        ...w,
        burst_s: up.wallMs / 1000,
        burst_reports_per_s: (t.statuses[201] ?? 0) / (up.wallMs / 1000),
        stored_during_wrk: done.filter(r => r.status === 201 && r.at >= w.start && r.at <= w.end).length,
        stored_before_wrk: done.filter(r => r.status === 201 && r.at < w.start).length,
        burst_ended_before_wrk_s: burstEnd < w.end ? (w.end - burstEnd) / 1000 : 0,
        upload_p50_ms: percentile(done.map(r => r.ms), 50),
        upload_p99_ms: percentile(done.map(r => r.ms), 99),
        statuses: t.statuses,
      }
      out.stored_201 += t.statuses[201] ?? 0
      if ((t.statuses[201] ?? 0) !== o.burst) problems.push(`round ${round + 1}: ${t.statuses[201] ?? 0}/${o.burst} burst uploads answered 201 (${JSON.stringify(t.statuses)}; e.g. ${t.unexpected.join(' | ')})`)
      if (up.timedOut) problems.push(`round ${round + 1}: burst stopped after ${maxWaitMs / 1000} s`)
    }
    for (const phase of ['idle', 'during']) if (entry[phase].problems.length) problems.push(`round ${round + 1} ${phase}: ${entry[phase].problems.join('; ')}`)
    entry.ratio_rps = entry.during.rps / entry.idle.rps
  }
  const med = (phase, key) => median(out.rounds.map(r => r[phase][key]))
  out.idle = { rps: med('idle', 'rps'), p50_ms: med('idle', 'p50_ms'), p99_ms: med('idle', 'p99_ms'), server_cpu_pct: med('idle', 'server_cpu_pct'), client_cpu_pct: med('idle', 'client_cpu_pct'), uploader_cpu_pct: med('idle', 'uploader_cpu_pct') }
  out.during = {
    rps: med('during', 'rps'), p50_ms: med('during', 'p50_ms'), p99_ms: med('during', 'p99_ms'), server_cpu_pct: med('during', 'server_cpu_pct'), client_cpu_pct: med('during', 'client_cpu_pct'), uploader_cpu_pct: med('during', 'uploader_cpu_pct'),
    burst_reports_per_s: med('during', 'burst_reports_per_s'), stored_during_wrk: med('during', 'stored_during_wrk'), burst_s: med('during', 'burst_s'),
  }
  out.ratio = { rps: out.during.rps / out.idle.rps, p50: out.during.p50_ms / out.idle.p50_ms, p99: out.during.p99_ms / out.idle.p99_ms, rps_rounds: out.rounds.map(r => r.ratio_rps) }
  out.target = SERVE_RATIO_TARGET
  out.pass = out.ratio.rps >= SERVE_RATIO_TARGET
  const early = out.rounds.filter(r => r.during.burst_ended_before_wrk_s > 0)
  if (early.length) out.note = `the burst ended before wrk did in ${early.length}/${out.rounds.length} round(s) (by ${early.map(r => r.during.burst_ended_before_wrk_s.toFixed(1)).join(', ')} s; reports stored while wrk ran: ${early.map(r => r.during.stored_during_wrk).join(', ')} of ${o.burst}): the overlap was partial`
  if (problems.length) throw Object.assign(new Error(problems.join('; ')), { partial: out })
  log(`reports burst: during/idle req/s ${out.ratio.rps.toFixed(2)} (${out.pass ? 'PASS' : 'FAIL'} >= ${SERVE_RATIO_TARGET})`)
  return out
}

// 5. Summary query ---------------------------------------------------------------

async function summaryPart ({ dir, o, log }) {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'reports.sqlite')
  const { openSqliteReportStore } = await import(join(DIST, 'db/open-sqlite-report-store.js'))
  const { SqlReportStore } = await import(join(DIST, 'db/sql-report-store.js'))
  const { parseReport } = await import(join(DIST, 'reports/parse-report.js'))
  const storeOptions = { maxReportBytes: 32 * 1024 * 1024, rawRetentionDays: 90, retentionDays: 400, clock: { now: () => new Date(BASE_DAY + o.summaryDays * DAY_MS) } }
  // The real schema: the store's own migrations.
  await (await openSqliteReportStore(file, storeOptions)).close()

  const out = { tenants: o.summaryTenants, days: o.summaryDays, organizations_per_tenant: o.summaryOrgs, queries: o.summaryQueries, target_ms: SUMMARY_TARGET_MS }
  log(`reports summary: generating ${o.summaryDays} days x ${o.summaryTenants} tenants x ${o.summaryOrgs} organizations (budget ${o.summaryBudgetS} s)`)
  const t0 = performance.now()
  const budgetEnd = t0 + o.summaryBudgetS * 1000
  const db = new Database(file)
  db.pragma('journal_mode = DELETE')
  db.pragma('synchronous = OFF')
  db.pragma('foreign_keys = OFF')
  db.pragma('cache_size = -262144')
  const insRaw = db.prepare('INSERT INTO raw_reports (id, received_at, transport, source, label, sha256, size, content, status, error, report_row) VALUES (?, ?, \'https\', ?, \'application/tlsrpt+gzip\', ?, ?, NULL, \'parsed\', NULL, ?)')
  const insReport = db.prepare('INSERT INTO reports (id, raw_id, organization, report_id, start_at, end_at, contact, day, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, \'[]\')')
  const insPolicy = db.prepare('INSERT INTO report_policies (id, report_row, domain, day, organization, policy_type, policy_strings, mode, mx, max_age, mx_hosts, successful, failed) VALUES (?, ?, ?, ?, ?, \'sts\', ?, \'enforce\', ?, 604800, ?, ?, ?)')
  const insFailure = db.prepare('INSERT INTO report_failures (policy_row, domain, day, result_type, sending_ip, receiving_mx, receiving_helo, receiving_ip, sessions, reason_code, additional_info) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, NULL)')
  const random = prng(8460)
  const failureTypes = ['certificate-expired', 'starttls-not-supported', 'validation-failure', 'sts-policy-fetch-error']
  const tenantStrings = Array.from({ length: o.summaryTenants }, (_, k) => {
    const domain = `s${k + 1}.bench.example`
    const mx = [`mx1.${domain}`, `mx2.${domain}`]
    return { domain, mx, mxJson: JSON.stringify(mx), strings: JSON.stringify(['version: STSv1', 'mode: enforce', ...mx.map(m => `mx: ${m}`), 'max_age: 604800']) }
  })
  let id = 0
  let failures = 0
  let daysDone = 0
  const load = db.transaction(() => {
    // Day by day, as reports arrive: one tenant's rows are spread over the whole file.
    for (let d = 0; d < o.summaryDays; d++) {
      if (performance.now() > budgetEnd) return
      const dayStr = day(d)
      const start = `${dayStr}T00:00:00Z`
      const end = `${dayStr}T23:59:59Z`
      const received = new Date(BASE_DAY + (d + 1) * DAY_MS + 3_600_000).toISOString()
      for (let t = 0; t < o.summaryTenants; t++) {
        const ts = tenantStrings[t]
        for (let g = 0; g < o.summaryOrgs; g++) {
          id++
          const org = ORGS[(t + g) % ORGS.length]
          insRaw.run(id, received, `192.0.2.${(id % 250) + 1}`, id.toString(16).padStart(64, '0'), 400 + (id % 400), id)
          insReport.run(id, id, org, `${dayStr}-${org}-${ts.domain}`, start, end, 'tlsrpt@sender.example', dayStr)
          const failing = random() < 0.05
          const failed = failing ? 1 + Math.floor(random() * 20) : 0
          insPolicy.run(id, id, ts.domain, dayStr, org, ts.strings, ts.mxJson, ts.mxJson, 500 + Math.floor(random() * 5000), failed)
          if (failing) {
            const rows = 1 + Math.floor(random() * 2)
            for (let f = 0; f < rows; f++) {
              insFailure.run(id, ts.domain, dayStr, failureTypes[(id + f) % failureTypes.length], `198.51.100.${(id + f) % 250}`, ts.mx[f % 2], '203.0.113.25', f === 0 ? failed : 1)
              failures++
            }
          }
        }
      }
      daysDone++
    }
  })
  load()
  db.pragma('journal_mode = WAL')
  db.close()
  out.generation_s = (performance.now() - t0) / 1000
  out.days_generated = daysDone
  out.policy_rows = id
  out.failure_rows = failures
  out.db_bytes = fileBytes(file)
  if (daysDone < o.summaryDays) throw Object.assign(new Error(`generation stopped by its ${o.summaryBudgetS} s budget after ${daysDone}/${o.summaryDays} days`), { partial: out })
  log(`reports summary: ${id} policy rows, ${failures} failure rows in ${out.generation_s.toFixed(1)} s, ${(out.db_bytes / 2 ** 20).toFixed(0)} MiB`)

  const until = day(o.summaryDays - 1)
  const pick = prng(25)
  const picks = Array.from({ length: o.summaryQueries }, () => 1 + Math.floor(pick() * o.summaryTenants))

  // The store as the service opens it (migrations, recover, WAL) and the real summarize.
  const o0 = performance.now()
  const store = await openSqliteReportStore(file, storeOptions)
  out.open_ms = performance.now() - o0
  const times = []
  const problems = []
  try {
    for (const k of picks) {
      const domain = `s${k}.bench.example`
      const q0 = performance.now()
      const days = await store.summarize({ domains: [domain], days: o.summaryDays, until })
      times.push(performance.now() - q0)
      if (days.length !== o.summaryDays || days.some(x => x.reports !== o.summaryOrgs)) {
        if (problems.length < 3) problems.push(`${domain}: ${days.length} days, reports per day ${[...new Set(days.map(x => x.reports))].join(',')}; expected ${o.summaryDays} x ${o.summaryOrgs}`)
      }
    }
  } finally {
    await store.close()
  }
  out.ms = { first: times[0], p50: percentile(times, 50), p90: percentile(times, 90), p99: percentile(times, 99), max: percentile(times, 100) }

  // Reference: the same rows fetched with plain better-sqlite3 (no Kysely, no aggregation).
  const ro = new Database(file, { readonly: true })
  const refTimes = []
  try {
    const from = day(o.summaryDays - Math.max(1, o.summaryDays))
    const pol = ro.prepare('SELECT id, report_row, domain, day, organization, policy_type, mode, mx, successful, failed FROM report_policies WHERE day >= ? AND day <= ? AND domain IN (?)')
    const fai = ro.prepare('SELECT policy_row, result_type, receiving_mx, sending_ip, sessions FROM report_failures WHERE day >= ? AND day <= ? AND domain IN (?)')
    for (const k of picks) {
      const domain = `s${k}.bench.example`
      const q0 = performance.now()
      pol.all(from, until, domain)
      fai.all(from, until, domain)
      refTimes.push(performance.now() - q0)
    }
  } finally {
    ro.close()
  }
  out.reference_ms = { p50: percentile(refTimes, 50), p99: percentile(refTimes, 99), max: percentile(refTimes, 100) }
  out.ratio_vs_plain_select = out.ms.p50 / out.reference_ms.p50
  out.plan = await queryPlans({ file, SqlReportStore, parseReport, storeOptions, domain: `s${picks[0]}.bench.example`, days: o.summaryDays, until })
  out.pass = out.ms.max < SUMMARY_TARGET_MS && out.ms.p99 < SUMMARY_TARGET_MS
  if (problems.length) throw Object.assign(new Error(problems.join('; ')), { partial: out })
  log(`reports summary: p50 ${out.ms.p50.toFixed(1)} ms, p99 ${out.ms.p99.toFixed(1)} ms, max ${out.ms.max.toFixed(1)} ms (${out.pass ? 'PASS' : 'FAIL'} < ${SUMMARY_TARGET_MS} ms)`)
  return out
}

/** The SQL summarize sends (captured through Kysely's log) and SQLite's EXPLAIN QUERY PLAN of each. */
async function queryPlans ({ file, SqlReportStore, parseReport, storeOptions, domain, days, until }) {
  const database = new Database(file, { readonly: true })
  const queries = []
  const kysely = new Kysely({ dialect: new SqliteDialect({ database }), log: e => { if (e.level === 'query') queries.push({ sql: e.query.sql, parameters: e.query.parameters }) } })
  try {
    const store = new SqlReportStore(kysely, { parse: b => parseReport(b), ...storeOptions })
    await store.summarize({ domains: [domain], days, until })
    return queries.map(q => ({
      sql: q.sql,
      plan: database.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.parameters).map(r => r.detail),
    }))
  } finally {
    await kysely.destroy()
  }
}

export const REPORT_TARGETS = { bombRssLimitKiB: BOMB_RSS_LIMIT_KIB, serveRatio: SERVE_RATIO_TARGET, summaryMs: SUMMARY_TARGET_MS }
