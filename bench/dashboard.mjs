#!/usr/bin/env node
// Dashboard benchmark: server-side time of the overview page (`GET /ui/`) with 10,000
// tenants (default), through `app.inject()` (no sockets: only routing, the joins, filter,
// sort, page and HTML). Run `npm run build` first; it imports from dist/.
//
// The ops app gets every source the overview joins: certificates, check reports, report
// totals and last fetches for every tenant (an in-memory stand-in for the report database
// with the dashboard's read methods). The overview caches report totals and last fetches for
// a few seconds, as the service does; `--no-cache` advances the clock past that cache
// before each request, so every request reads them again.
//
// Prints p50/p99/max (ms) of the requests after warm-up for a few page variants.
import { PassThrough } from 'node:stream'
import { parseArgs } from 'node:util'
import { parseConfig } from '../dist/config/load-config.js'
import { buildApp } from '../dist/http/build-app.js'
import { createLogger } from '../dist/log.js'
import { createMetrics } from '../dist/metrics.js'
import { buildSnapshot } from '../dist/tenants/tenant-snapshot.js'

const { values: opts } = parseArgs({
  options: {
    tenants: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    'no-cache': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (opts.help) {
  console.log('usage: node bench/dashboard.mjs [--tenants N] [--requests N] [--warmup N] [--no-cache]   (run npm run build first)')
  process.exit(0)
}
const TENANTS = Number(opts.tenants)
const REQUESTS = Number(opts.requests)
const WARMUP = Number(opts.warmup)
const NOW = Date.parse('2024-06-10T12:00:00Z')

const yaml = `tenants:\n${Array.from({ length: TENANTS }, (_, i) => `  t${i}.bench.example: { mode: ${['enforce', 'testing', 'none'][i % 3]}, mx: [mx.t${i}.bench.example] }`).join('\n')}\n`
const parsed = parseConfig(yaml, '/bench/config.yaml')
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors.slice(0, 3)))
const snapshot = buildSnapshot(parsed.config)
const day = 86_400_000
const certificates = snapshot.tenants.map((t, i) => ({ host: t.host, state: i % 97 === 0 ? 'failing' : 'valid', notAfter: new Date(NOW + ((i % 90) + 1) * day), failures: 0 }))
const checks = snapshot.tenants.map((t, i) => ({
  domain: t.domain,
  checkedAt: new Date(NOW - 3_600_000).toISOString(),
  durationMs: 100,
  status: i % 13 === 0 ? 'fail' : 'pass',
  readyForEnforce: i % 13 !== 0,
  reasons: [],
  results: [{ id: 'sts-txt', name: 'MTA-STS TXT record', status: i % 13 === 0 ? 'fail' : 'pass', reason: '', details: { published: i % 13 === 0 ? 'stale' : t.id } }],
}))
const totals = snapshot.tenants.map((t, i) => ({ domain: t.domain, successful: 1000 + i, failed: i % 7 === 0 ? i % 50 : 0, organizations: 3 }))
const lastFetches = new Map(snapshot.tenants.map((t, i) => [t.domain, { domain: t.domain, at: new Date(NOW - (i % 1000) * 60_000).toISOString(), sender: i % 2 ? 'google' : 'microsoft', policyId: t.id }]))

let now = NOW
const app = await buildApp({ role: 'ops' }, {
  logger: createLogger('error', new PassThrough()),
  metrics: createMetrics(() => ({ expiries: () => [], status: () => [] })),
  tenants: () => snapshot,
  readiness: () => ({ ready: true, reasons: [], details: {} }),
  certificates: () => certificates,
  dashboard: {
    settings: parsed.config.ui,
    passwords: [],
    tenants: () => snapshot,
    certificates: () => certificates,
    checks: () => checks,
    store: { summarize: async () => [], reportTotals: async () => totals, policyHistory: async () => [] },
    fetches: { fetchesFor: async () => ({ days: [], networks: [] }), lastFetches: async () => lastFetches },
    dnsTarget: [],
    now: () => new Date(now),
  },
})

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
async function measure (url) {
  const times = []
  let bytes = 0
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    if (opts['no-cache']) now += 10_000
    const start = process.hrtime.bigint()
    const res = await app.inject(url)
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`)
    bytes = res.body.length
    if (i >= WARMUP) times.push(ms)
  }
  times.sort((a, b) => a - b)
  return { url, p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: times.at(-1), bytes }
}

console.log(`dashboard overview, ${TENANTS} tenants, page size ${parsed.config.ui.pageSize}, ${REQUESTS} requests after ${WARMUP} warm-up, Node ${process.version}${opts['no-cache'] ? ', store reads not cached' : ''}`)
console.log('url'.padEnd(40), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'max ms'.padStart(8), 'bytes'.padStart(8))
for (const url of ['/ui/', '/ui/?sort=name&page=50', '/ui/?q=t99&attention=1', '/ui/?sort=fetch&order=reverse', '/ui/tenants/t42.bench.example']) {
  const r = await measure(url)
  console.log(r.url.padEnd(40), r.p50.toFixed(1).padStart(8), r.p99.toFixed(1).padStart(8), r.max.toFixed(1).padStart(8), String(r.bytes).padStart(8))
}
await app.close()
