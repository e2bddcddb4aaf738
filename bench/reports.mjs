#!/usr/bin/env node
// TLS report part of the mta-sts-host benchmark (also run by `npm run bench`,
// see bench/README.md): HTTPS ingest, `reports import`, gzip bombs, policy
// serving during a burst of report uploads, and the summary query over a year
// of reports for 1,000 tenants.
//
// Results: a table on stdout and bench/results/reports.json. Exit status 1
// when any check or measurement failed, or the gzip bombs cost over 50 MB of
// RSS (the serving and summary targets print PASS/FAIL without failing the run).
import { parseArgs } from 'node:util'
import { REPORTS_DEFAULTS, reportsPhase } from './lib/reports.mjs'
import { formatReports } from './lib/report.mjs'
import { finishPart, positiveInt } from './lib/part-run.mjs'
import { have, installCleanup, makeTempDir, run, runLog, runMeta } from './lib/proc.mjs'

const D = REPORTS_DEFAULTS
const PARTS = ['ingest', 'import', 'bomb', 'burst', 'summary']
const USAGE = `usage: node bench/reports.mjs [options]   (run npm run build first; as root: wrk runs in a private mount namespace)
  --reports N            reports uploaded over HTTPS, and imported from files (default ${D.reports})
  --tenants N            tenants they are spread over (default ${D.tenants})
  --concurrency N        concurrent uploads, each on its own keep-alive connection (default ${D.concurrency})
  --mbox-mails N         of the imported reports, how many come as mails in one mbox file (default ${D.mboxMails})
  --bombs N              gzip bombs posted (default ${D.bombs})
  --bomb-bytes N         size of one bomb as sent (default ${D.bombBytes}; reports.max_body_bytes is 5 MiB)
  --bomb-concurrency N   bombs in flight at once (default ${D.bombConcurrency})
  --max-report-bytes N   reports.max_report_bytes of the bomb/burst instance (default: the service's, 32 MiB)
  --burst N              report uploads per burst while wrk runs (default ${D.burst})
  --ingest-rate N        reports.ingest_rate of the bomb/burst instance (default: the service's, 25/s)
  --summary-tenants N    tenants in the summary database (default ${D.summaryTenants})
  --summary-days N       days of reports per tenant (default ${D.summaryDays})
  --summary-orgs N       reporting organizations per tenant and day (default ${D.summaryOrgs})
  --summary-queries N    tenants summarized (default ${D.summaryQueries})
  --summary-budget S     limit for generating the summary database (default ${D.summaryBudgetS})
  --skip LIST            parts to skip, comma-separated: ${PARTS.join(',')}
  --duration S           seconds per wrk run (default 5)
  --warmup S             seconds of wrk warm-up (default 1)
  --rounds N             wrk rounds (idle and during a burst, alternating order; medians) (default 3)
  --connections N        wrk connections (default 8)
  --threads N            wrk threads (default 1)
  --max-wait S           limit for start-up, one upload run or one import (default ${D.maxWaitS})`

const { values: opts } = parseArgs({
  options: {
    reports: { type: 'string' },
    tenants: { type: 'string' },
    concurrency: { type: 'string' },
    'mbox-mails': { type: 'string' },
    bombs: { type: 'string' },
    'bomb-bytes': { type: 'string' },
    'bomb-concurrency': { type: 'string' },
    'max-report-bytes': { type: 'string' },
    'ingest-rate': { type: 'string' },
    burst: { type: 'string' },
    'summary-tenants': { type: 'string' },
    'summary-days': { type: 'string' },
    'summary-orgs': { type: 'string' },
    'summary-queries': { type: 'string' },
    'summary-budget': { type: 'string' },
    skip: { type: 'string', default: '' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    'max-wait': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) { console.log(USAGE); process.exit(0) }
const positive = positiveInt(USAGE)
const posInt = (name, v) => v === undefined ? undefined : positive(name, v)
const skip = new Set(opts.skip.split(',').map(s => s.trim()).filter(Boolean))
for (const s of skip) if (!PARTS.includes(s)) { console.error(`bench: --skip: unknown part ${s}\n${USAGE}`); process.exit(2) }
const WRK = {
  threads: posInt('threads', opts.threads),
  connections: posInt('connections', opts.connections),
  duration_s: posInt('duration', opts.duration),
  warmup_s: posInt('warmup', opts.warmup),
  rounds: posInt('rounds', opts.rounds),
}

const { failures, fail, log } = runLog()

installCleanup()
const results = { meta: { ...runMeta() }, reports: null, failures }
const root = makeTempDir()
let exitCode = 0
try {
  if (!skip.has('burst')) {
    if (process.getuid?.() !== 0) throw new Error('run as root (unshare -m and mount --bind for wrk\'s hosts file need it), or --skip burst')
    for (const cmd of ['wrk', 'curl', 'unshare', 'mount']) if (!have(cmd)) throw new Error(`${cmd} not found on PATH (npm run bench installs wrk)`)
    results.meta.wrk_version = (await run('wrk', ['-v'], { timeoutMs: 5000 })).stdout.split('\n')[0].trim()
  }
  results.reports = await reportsPhase({
    root,
    log,
    fail,
    wrk: WRK,
    skip,
    reports: posInt('reports', opts.reports),
    tenants: posInt('tenants', opts.tenants),
    concurrency: posInt('concurrency', opts.concurrency),
    mboxMails: posInt('mbox-mails', opts['mbox-mails']),
    bombs: posInt('bombs', opts.bombs),
    bombBytes: posInt('bomb-bytes', opts['bomb-bytes']),
    bombConcurrency: posInt('bomb-concurrency', opts['bomb-concurrency']),
    maxReportBytes: posInt('max-report-bytes', opts['max-report-bytes']),
    burst: posInt('burst', opts.burst),
    ingestRate: posInt('ingest-rate', opts['ingest-rate']),
    summaryTenants: posInt('summary-tenants', opts['summary-tenants']),
    summaryDays: posInt('summary-days', opts['summary-days']),
    summaryOrgs: posInt('summary-orgs', opts['summary-orgs']),
    summaryQueries: posInt('summary-queries', opts['summary-queries']),
    summaryBudgetS: posInt('summary-budget', opts['summary-budget']),
    maxWaitS: posInt('max-wait', opts['max-wait']),
  })
} catch (err) {
  fail('reports', err)
} finally {
  exitCode = finishPart({ title: 'TLS report benchmark', results, table: () => results.reports && formatReports(results.reports), file: 'reports.json', failures, fail, log })
}
process.exit(exitCode)
