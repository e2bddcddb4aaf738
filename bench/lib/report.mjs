// Human-readable tables of the benchmark results.

const fmt = (v, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-')
const int = v => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-')
const mib = kib => (typeof kib === 'number' ? (kib / 1024).toFixed(1) : '-')
const x = v => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(2)}x` : '-')

/** Render rows (arrays of strings) as an aligned table; first row is the header. */
export function table (rows, rightFrom = 1) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map(r => String(r[c] ?? '').length)))
  const line = r => r.map((cell, c) => (c >= rightFrom ? String(cell).padStart(widths[c]) : String(cell).padEnd(widths[c]))).join('  ')
  return [line(rows[0]), widths.map(w => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

export function formatReport (results) {
  const out = []
  const m = results.meta
  out.push('', `mta-sts-host benchmark  (${m.started_at}; node ${m.node}; ${m.cpus} CPU(s) ${m.cpu_model ?? ''}; nginx ${m.nginx ?? '?'}; ${(m.wrk_version ?? 'wrk').replace(/ Copyright.*/, '')})`)
  out.push(`load average at start ${m.loadavg_start ?? '?'}, at end ${m.loadavg_end ?? '?'}${m.loadavg_start > m.cpus / 4 ? '  (WARNING: other load on the machine; numbers are noisy)' : ''}`)
  const tp = results.throughput
  if (tp) {
    out.push('', `Policy fetch over HTTPS: wrk -t${m.wrk.threads} -c${m.wrk.connections} -d${m.wrk.duration_s}s --latency (after ${m.wrk.warmup_s}s warm-up), median of ${m.wrk.rounds} rounds, host ${tp.host}, ${tp.body_bytes}-byte body,`,
      `${tp.tenants} tenants configured, EC P-256 leaf + internal CA chain on both servers, nginx worker_processes ${tp.nginx_workers}, service --workers ${tp.service_workers ?? '(none)'}`)
    const rows = [['mode', 'server', 'req/s', 'req/s range', 'p50 ms', 'p75 ms', 'p90 ms', 'p99 ms', 'requests', 'server CPU', 'wrk CPU', 'errors']]
    for (const mode of Object.values(tp.modes)) {
      for (const [name, r] of Object.entries(mode.results)) {
        rows.push([mode.label, name, int(r.rps), `${int(r.rps_min)}-${int(r.rps_max)}`, fmt(r.p50_ms, 3), fmt(r.p75_ms, 3), fmt(r.p90_ms, 3), fmt(r.p99_ms, 3), int(r.requests),
          `${fmt(r.server_cpu_pct, 0)}%`, `${fmt(r.client_cpu_pct, 0)}%`, r.problems.length ? r.problems.join('; ') : '0'])
      }
      const goal = { keepalive: 0.75, new_tls_conn: 0.9 }[Object.keys(tp.modes).find(k => tp.modes[k] === mode)]
      rows.push([mode.label, 'service/nginx', x(mode.ratio.rps), goal === undefined ? '' : `goal >= ${goal}: ${mode.ratio.rps >= goal ? 'PASS' : 'FAIL'}`, x(mode.ratio.p50), '', '', x(mode.ratio.p99), '', '', '', ''])
      if (mode.one_process_ratio) rows.push([mode.label, 'workers/one process', x(mode.one_process_ratio.workers_gain), `one process/nginx ${x(mode.one_process_ratio.rps)}`, '', '', '', '', '', '', '', ''])
      if (mode.node_ratio) rows.push([mode.label, 'service/node_minimal', x(mode.node_ratio.rps), `node_minimal/nginx ${x(mode.node_ratio.node_vs_nginx)}`, '', '', '', '', '', '', '', ''])
      if (mode.stats_ratio) rows.push([mode.label, 'stats on/off', x(mode.stats_ratio.rps), `goal >= ${mode.stats_ratio.target_rps}: ${mode.stats_ratio.pass ? 'PASS' : 'FAIL'}`, x(mode.stats_ratio.p50), '', '', x(mode.stats_ratio.p99), '', '', '', ''])
    }
    out.push('', table(rows, 2))
    if (tp.half_peak) {
      const hp = tp.half_peak
      out.push('', `Latency at half each server's keep-alive peak (wrk with a random 0-${2 * 10} ms wait per connection after each answer, bench/lib/rate.mjs; median of ${m.wrk.rounds} rounds)`)
      const hpRows = [['server', 'target req/s', 'achieved req/s', 'connections', 'p50 ms', 'p90 ms', 'p99 ms', 'errors']]
      for (const [name, r] of Object.entries(hp.results)) {
        hpRows.push([name, int(r.target_rps), int(r.rps), int(r.connections), fmt(r.p50_ms, 3), fmt(r.p90_ms, 3), fmt(r.p99_ms, 3), r.problems.length ? r.problems.join('; ') : '0'])
      }
      hpRows.push(['service p99', `goal < ${hp.goal_p99_ms} ms: ${hp.pass ? 'PASS' : 'FAIL'}`, '', '', '', '', '', ''])
      out.push('', table(hpRows, 1))
    }
    if (tp.tls) out.push('', 'TLS negotiated by a default client: ' + Object.entries(tp.tls).map(([k, v]) => `${k} ${v.protocol} ${v.cipher} ${v.key_exchange} ${v.certificate_key} ${v.alpn ?? ''}`).join('; '))
    out.push('', `service RSS: ${mib(tp.service_rss_kib.before_load)} MiB before load, ${mib(tp.service_rss_kib.after_load)} MiB after load`)
    if (tp.stats_flushed) out.push(`fetch statistics written by the service (statistics on) at shutdown: ${JSON.stringify(tp.stats_flushed)}`)
  }
  const sc = results.scale
  if (sc) {
    out.push('', `Scale (issuer internal; start-up = spawn until GET /readyz is 200; reload = in-place rewrite until the "reload" log event; ratios vs ${sc.reference_tenants} tenants)`)
    const rows = [['tenants', 'config', 'start-up ms', 'RSS ready MiB', 'RSS +fetches MiB', 'first fetch ms', 'reload ms', 'reload duration_ms', 'max stall ms', 'loop delay max ms', 'start-up ratio', 'RSS ratio', 'RSS+f ratio', 'reload ratio', 'status']]
    for (const s of sc.sizes) {
      const r = s.ratio_vs_reference ?? {}
      const firstFetch = s.fetches?.length ? Math.max(...s.fetches.map(f => f.first_fetch_ms)) : undefined
      rows.push([
        int(s.tenants), s.config_bytes ? `${(s.config_bytes / 1024).toFixed(0)} KiB` : '-', int(s.startup_ms), mib(s.rss_ready_kib), mib(s.rss_after_fetches_kib),
        firstFetch === undefined ? '-' : `<=${int(firstFetch)}`, int(s.reload_ms), fmt(s.reload_duration_ms, 1), int(s.max_probe_ms_during_reload), int(s.reload_loop_delay_max_ms),
        x(r.startup), x(r.rss_ready), x(r.rss_after_fetches), x(r.reload), s.error ? `FAILED: ${s.error}` : 'ok',
      ])
    }
    out.push('', table(rows, 1))
    out.push('(max stall = slowest GET /healthz answer while the reload ran: how long the event loop was blocked, as a client sees it;')
    out.push(' loop delay max = the service\'s own longest event-loop delay during the reload, loop_delay_max_ms of its reload log line)')
    for (const s of sc.sizes) {
      if (s.rss_at_failure_kib) out.push(`${s.tenants} tenants at failure: RSS ${mib(s.rss_at_failure_kib)} MiB, ${fmt(s.cpu_s_at_failure, 1)} CPU s used`)
    }
  }
  if (results.acme) out.push(formatAcme(results.acme))
  if (results.reports) out.push(formatReports(results.reports))
  if (results.cluster) out.push(formatCluster(results.cluster, results.meta.wrk))
  if (results.sweep?.goals) out.push(formatSweep(results.sweep))
  out.push(formatGoals(results))
  if (results.failures.length > 0) {
    out.push('', `FAILURES (${results.failures.length}):`, ...results.failures.map(f => `  - ${f.split('\n')[0]}`))
  } else {
    out.push('', 'all checks passed')
  }
  out.push('')
  return out.join('\n')
}

/** How an ACME run's service was started: `--workers N|auto` (as deployed) or one process. */
const serviceLabel = r => (r.workers === null || r.workers === undefined ? 'one process' : `--workers ${r.workers}`)

/** Tables of the ACME part (bench/lib/acme.mjs acmePhase results). */
export function formatAcme (a) {
  const out = []
  const w = a.wrk
  out.push('', `ACME issuance from a local Pebble ${a.pebble ?? ''} (${Object.entries(a.pebble_env).map(([k, v]) => `${k}=${v}`).join(' ')}); ${a.tenants} tenants to order + 1 load target whose`,
    `certificate is in the store already; challenges: ${Array.isArray(a.challenges) ? a.challenges.join(',') : a.challenges}. Time from spawn (runs with wrk: from Pebble's release after a 2 s warm-up) until the ${a.tenants}th certificate_obtained log event.`)
  const rows = [['concurrency', 'service', 'wrk during', 'ready ms', 'first order ms', `all ${a.tenants} s`, 'orders/s', 'per cert p50 ms', 'p90 ms', 'max ms', 'service CPU s', 'main thread ms/cert', 'other threads ms/cert', 'worker processes ms/cert', 'pebble CPU s', 'challenges', 'failures', 'status']]
  for (const r of a.runs) {
    rows.push([String(r.concurrency ?? 'default'), serviceLabel(r), r.load ? 'yes' : 'no', int(r.ready_ms), int(r.first_order_ms), fmt(r.issuance_ms / 1000, 2), fmt(r.orders_per_s, 1),
      int(r.cert_duration_ms?.p50), int(r.cert_duration_ms?.p90), int(r.cert_duration_ms?.max), fmt(r.cpu_s_until_done?.service, 1),
      fmt(r.cpu_ms_per_cert_after_ready?.main_thread, 1), fmt(r.cpu_ms_per_cert_after_ready?.other_threads, 1), r.workers === null || r.workers === undefined ? '-' : fmt(r.cpu_ms_per_cert_after_ready?.worker_processes, 1), fmt(r.cpu_s_until_done?.pebble, 1),
      r.challenges_answered ? Object.entries(r.challenges_answered).map(([k, v]) => `${k} ${v}`).join(', ') : '-', String(r.failures ?? '-'), r.error ? `FAILED: ${r.error}` : 'ok'])
  }
  out.push('', table(rows, 2))
  for (const [k, v] of Object.entries(a.ratios ?? {})) out.push(`${k.replace(/_/g, ' ')}: ${x(v)} the time`)
  const loaded = a.runs.filter(r => r.wrk_during || r.wrk_idle)
  if (loaded.length) {
    out.push('', `Policy fetch of ${a.load_host} over HTTPS keep-alive, wrk -t${w.threads} -c${w.connections} -d${w.duration_s}s --latency: while the ${a.tenants} orders run vs. the same service idle afterwards`)
    const trows = [['concurrency', 'service', 'phase', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'requests', 'service CPU', 'pebble CPU', 'wrk CPU', 'certs obtained during run', 'new-cert fetch n, p50/max ms', 'errors']]
    for (const r of loaded) {
      for (const [phase, m, cold] of [['during issuance', r.wrk_during, r.wrk_during?.cold_fetch_ms], ['idle', r.wrk_idle, r.cold_fetch_after_ms]]) {
        if (!m) continue
        trows.push([String(r.concurrency ?? 'default'), serviceLabel(r), phase, int(m.rps), fmt(m.p50_ms, 3), fmt(m.p90_ms, 3), fmt(m.p99_ms, 3), int(m.requests),
          `${fmt(m.server_cpu_pct, 0)}%`, `${fmt(m.pebble_cpu_pct, 0)}%`, `${fmt(m.client_cpu_pct, 0)}%`, `${m.obtained_at_end - m.obtained_at_start} (${m.obtained_at_start}->${m.obtained_at_end})`,
          cold?.n ? `${cold.n}, ${fmt(cold.p50, 1)}/${fmt(cold.max, 1)}` : '-', m.problems.length ? m.problems.join('; ') : '0'])
      }
      const q = r.ratio_during_vs_idle
      if (q) trows.push([String(r.concurrency ?? 'default'), serviceLabel(r), 'during/idle', x(q.rps), x(q.p50), '', x(q.p99), '', '', '', '', '', '', ''])
    }
    out.push('', table(trows, 2))
    out.push('new-cert fetch: a tenant whose certificate was just obtained, fetched once over a new TLS connection (a cold context; with --workers the worker asks the primary over IPC): during issuance while wrk runs, and for the idle row, every other tenant after issuance.')
    for (const r of loaded) if (r.wrk_during?.note) out.push(`c=${r.concurrency} ${serviceLabel(r)}: ${r.wrk_during.note}`)
  }
  return out.join('\n')
}

const pf = pass => (pass === undefined ? '-' : pass ? 'PASS' : 'FAIL')
const statuses = s => (s ? Object.entries(s).map(([k, v]) => `${k}:${int(v)}`).join(' ') : '-')

/** Tables of the TLS report part (bench/lib/reports.mjs reportsPhase results). */
export function formatReports (r) {
  const out = []
  const s = r.settings
  if (r.report_bytes) out.push('', `TLS reports (RFC 8460): ${int(s.reports)} distinct gzipped reports (avg ${int(r.report_bytes?.json_avg)} B JSON, ${int(r.report_bytes?.gzip_avg)} B gzip) over ${s.tenants} tenants; database on ${r.filesystem ?? '?'}`)
  else out.push('', `TLS reports (RFC 8460); database on ${r.filesystem ?? '?'}`)
  const ing = r.ingest
  const imp = r.import
  if (ing || imp) {
    const rows = [['intake', 'reports/s', 'wall s', 'latency p50 ms', 'p99 ms', 'max ms', 'RSS before MiB', 'RSS after MiB', 'peak RSS MiB', 'answers / result', 'DB reports', 'vs HTTPS', 'status']]
    if (ing) {
      rows.push([`HTTPS POST, ${ing.concurrency ?? s.concurrency} concurrent keep-alive`, fmt(ing.reports_per_s, 0), fmt(ing.wall_s, 1), fmt(ing.latency_ms?.p50, 1), fmt(ing.latency_ms?.p99, 1), fmt(ing.latency_ms?.max, 1),
        mib(ing.rss_before_kib?.rss), mib(ing.rss_after_kib?.rss), mib(ing.rss_after_kib?.hwm), statuses(ing.statuses), int(ing.db?.reports), '1.00x', ing.error ? `FAILED: ${ing.error}` : 'ok'])
    }
    if (imp) {
      const f = imp.files
      rows.push([`reports import (${f ? `${int(f.json)} .json, ${int(f.json_gz)} .json.gz, mbox of ${int(f.mbox_mails)} mails` : 'files'}; ${imp.batches?.length ?? '?'} run(s))`, fmt(imp.reports_per_s, 0), fmt(imp.wall_s, 1), '', '', '', '', '', mib(imp.peak_rss_kib),
        imp.stored !== undefined ? `${int(imp.stored)} stored` : '-', int(imp.db?.reports), x(imp.ratio_vs_https), imp.error ? `FAILED: ${imp.error}` : 'ok'])
    }
    out.push('', table(rows, 1))
    if (ing?.service_cpu_pct !== undefined) out.push(`HTTPS: service CPU ${fmt(ing.service_cpu_pct, 0)}% during the uploads; ${int(ing.connections_reused)} of ${int(s.reports)} uploads on a reused connection; peak RSS = VmHWM after; database ${mib(ing.db_bytes / 1024)} MiB`)
  }
  const b = r.bomb
  if (b) {
    out.push('', `Gzip bombs: ${b.bombs} POSTs of ${fmt(b.body_bytes / 1e6, 2)} MB (${b.gzip_members} gzip members of zeros, inflating to ${fmt(b.inflates_to_bytes / 2 ** 30, 1)} GiB), ${b.concurrency} at a time`)
    const rows = [['RSS before MiB', 'peak during MiB', 'after MiB', 'VmHWM before', 'VmHWM after', 'extra MiB', 'limit MiB', 'answers', 'ms p50', 'ms max', 'upload after', 'result']]
    rows.push([mib(b.before_kib?.rss), mib(b.peak_sampled_rss_kib), mib(b.after_kib?.rss), mib(b.before_kib?.hwm), mib(b.after_kib?.hwm), mib(b.extra_rss_kib), mib(b.limit_kib), statuses(b.statuses),
      fmt(b.latency_ms?.p50, 0), fmt(b.latency_ms?.max, 0), String(b.upload_after ?? '-'), b.error ? `${pf(b.pass)} (${b.error})` : pf(b.pass)])
    out.push('', table(rows, 0))
    const f = b.reference_same_size_415
    if (f && !f.error) {
      rows.push([mib(f.before_kib?.rss), mib(f.peak_sampled_rss_kib), mib(f.after_kib?.rss), mib(f.before_kib?.hwm), mib(f.after_kib?.hwm), mib(f.extra_rss_kib), '', statuses(f.statuses),
        fmt(f.latency_ms?.p50, 0), fmt(f.latency_ms?.max, 0), '', `reference: same-size non-report bodies (415), fresh instance; bombs/reference ${x(b.extra_rss_kib / f.extra_rss_kib)}`])
      out.splice(out.length - 1, 1, table(rows, 0))
    } else if (f?.error) out.push(`reference run failed: ${f.error}`)
    if (b.sample_answer) out.push(`answer: ${b.sample_answer}`)
  }
  const u = r.burst
  if (u) {
    const w = u.wrk ?? s.wrk
    out.push('', `Policy fetch of ${u.host ?? '?'} (wrk -t${w.threads} -c${w.connections} -d${w.duration_s}s keep-alive, ${w.rounds} rounds alternating, medians) idle vs. while ${int(u.burst)} reports are uploaded (${u.concurrency} concurrent) to the other tenants`)
    if (u.idle && u.during) {
      const rows = [['phase', 'req/s', 'p50 ms', 'p99 ms', 'service CPU', 'wrk CPU', 'uploader CPU', 'burst reports/s', 'burst s', 'stored during wrk']]
      rows.push(['idle', int(u.idle.rps), fmt(u.idle.p50_ms, 3), fmt(u.idle.p99_ms, 3), `${fmt(u.idle.server_cpu_pct, 0)}%`, `${fmt(u.idle.client_cpu_pct, 0)}%`, `${fmt(u.idle.uploader_cpu_pct, 0)}%`, '', '', ''])
      rows.push(['during burst', int(u.during.rps), fmt(u.during.p50_ms, 3), fmt(u.during.p99_ms, 3), `${fmt(u.during.server_cpu_pct, 0)}%`, `${fmt(u.during.client_cpu_pct, 0)}%`, `${fmt(u.during.uploader_cpu_pct, 0)}%`, fmt(u.during.burst_reports_per_s, 0), fmt(u.during.burst_s, 1), int(u.during.stored_during_wrk)])
      rows.push(['during/idle', x(u.ratio?.rps), x(u.ratio?.p50), x(u.ratio?.p99), '', '', '', '', '', ''])
      out.push('', table(rows, 1))
      out.push(`during/idle req/s per round: ${(u.ratio?.rps_rounds ?? []).map(v => x(v)).join(', ')}; target >= ${u.target}: ${pf(u.pass)}`)
    }
    if (u.note) out.push(`note: ${u.note}`)
    if (u.db_after) out.push(`database after the service stopped: ${int(u.db_after.reports)} reports (expected ${int(u.expected_reports)}), quick_check ${u.db_after.integrity}`)
    if (u.error) out.push(`FAILED: ${u.error}`)
  }
  const q = r.summary
  if (q) {
    out.push('', `Summary query: summarize({domains: [tenant], days: ${q.days}, until}) through SqlReportStore (dist) on ${int(q.tenants)} tenants x ${q.days} days x ${q.organizations_per_tenant} organizations:`,
      `${int(q.policy_rows)} policy rows, ${int(q.failure_rows)} failure rows, ${mib(q.db_bytes / 1024)} MiB, generated in ${fmt(q.generation_s, 1)} s; ${int(q.queries)} random tenants, store opened in ${fmt(q.open_ms, 0)} ms`)
    if (q.ms) {
      const rows = [['query', 'first ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'target', 'result']]
      rows.push(['summarize (Kysely, aggregation)', fmt(q.ms.first, 1), fmt(q.ms.p50, 1), fmt(q.ms.p90, 1), fmt(q.ms.p99, 1), fmt(q.ms.max, 1), `< ${q.target_ms} ms`, pf(q.pass)])
      rows.push(['plain SELECT of the same rows', '', fmt(q.reference_ms?.p50, 1), '', fmt(q.reference_ms?.p99, 1), fmt(q.reference_ms?.max, 1), '', `summarize/plain p50 ${x(q.ratio_vs_plain_select)}`])
      out.push('', table(rows, 1))
    }
    for (const p of q.plan ?? []) out.push(`plan of ${p.sql.slice(0, 60)}...: ${p.plan.join(' | ')}`)
    if (q.error) out.push(`FAILED: ${q.error}`)
  }
  return out.join('\n')
}

/** Tables of the replica part (bench/lib/cluster.mjs clusterPhase results). */
export function formatCluster (c, w) {
  const out = ['', `Replicas on PostgreSQL ${c.postgres_version ?? ''} behind ${c.haproxy_version ?? 'haproxy'} (TCP mode, round robin), all on this machine`]
  const t = c.throughput
  if (t) {
    out.push(`Policy fetch through the balancer, wrk -t${w.threads} -c${w.connections} -d${w.duration_s}s, ${t.rounds} rounds alternating, medians; ${t.tenants} tenants, internal CA.`,
      'db tx/fetch: PostgreSQL transactions of the replicas during the run, less an idle window as long, per request (goal: 0).')
    const rows = [['mode', 'replicas', 'req/s', 'p50 ms', 'p99 ms', 'replicas+haproxy CPU', 'db tx/fetch', '3 vs 1']]
    for (const [mode, m] of Object.entries(t.modes)) {
      for (const [n, s] of [['1', m.one], ['3', m.three]]) {
        rows.push([mode, n, int(s.rps), fmt(s.p50_ms, 3), fmt(s.p99_ms, 3), `${fmt(s.server_cpu_pct, 0)}%`, fmt(s.db_transactions_per_fetch, 5), n === '3' ? x(m.ratio_rps) : ''])
      }
    }
    out.push('', table(rows, 1))
  }
  const i = c.issuance
  if (i) {
    out.push('', `ACME issuance of ${i.tenants} certificates from a local Pebble validating through the balancer (fresh Pebble and database per run); time from Pebble being let go, with every replica ready and in rotation, until the last certificate_obtained.`)
    const rows = [['replicas', `all ${i.tenants} s`, 'orders/s', 'Pebble orders', 'obtained per replica', 'failures']]
    for (const [n, r] of Object.entries(i.runs)) rows.push([n, fmt(r.issuance_ms / 1000, 2), fmt(r.orders_per_s, 1), String(r.pebble_orders), r.obtained_per_replica.join('/'), String(r.failures)])
    out.push('', table(rows, 1), `3 replicas vs 1: ${x(i.ratio_time)} the time`)
  }
  return out.join('\n')
}

/** The sweep's table: each measurement beside its goal. */
export function formatSweep (s) {
  const ms = v => (typeof v === 'number' ? v.toFixed(1) : '-')
  const mb = kib => (typeof kib === 'number' ? `${(kib * 1024 / 1e6).toFixed(0)} MB (${(kib / 1024).toFixed(0)} MiB)` : '-')
  const verdict = ok => ok === undefined ? '-' : ok ? 'PASS' : 'FAIL'
  const lines = ['', `Sweep (issue 13 point 3): ${s.tenants.toLocaleString('en-US')} tenants, each with its own internal-CA certificate in the FileStore; ` +
    `every tenant fetched once over a new TLS connection, ${s.concurrency} at a time (${s.fetched ?? 0} fetched, ${s.errors?.length ?? 0} errors, ${ms(s.sweep_ms / 1000)} s)`]
  lines.push(table([
    ['measure', 'value', 'goal', ''],
    ['ready (spawn until /readyz 200)', `${ms(s.ready_ms)} ms`, `< ${s.goals.ready_ms} ms`, verdict(s.pass?.ready)],
    ['RSS max through the sweep', mb(s.rss_max_kib), `< ${s.goals.rss_max_mb} MB`, verdict(s.pass?.rss)],
    [`cold handshake p50 (one at a time, ${s.handshake_ms?.count ?? 0})`, `${ms(s.handshake_ms?.p50)} ms`, '', ''],
    ['cold handshake p99', `${ms(s.handshake_ms?.p99)} ms`, `< ${s.goals.handshake_p99_ms} ms`, verdict(s.pass?.handshake_p99)],
    ['cold handshake max', `${ms(s.handshake_ms?.max)} ms`, '', ''],
    ['warm handshake p50 / p99 (same tenant again)', `${ms(s.warm_handshake_ms?.p50)} / ${ms(s.warm_handshake_ms?.p99)} ms`, '', ''],
    [`sweep handshake p50 / p99 (${s.concurrency} at a time)`, `${ms(s.sweep_handshake_ms?.p50)} / ${ms(s.sweep_handshake_ms?.p99)} ms`, '', ''],
  ], 1))
  lines.push(`RSS when ready ${mb(s.rss_ready_kib)}, after the sweep ${mb(s.rss_after_kib)}; load average before ${s.loadavg_before}, after ${s.loadavg_after}` +
    (s.generated_ms === undefined ? `; store generated ${s.kept_since}, reused` : `; store generated now in ${ms(s.generated_ms / 1000)} s`))
  return lines.join('\n')
}

/**
 * Issue 13's goals in one table: each measurement of this run beside its goal
 * (a part that was skipped or failed shows `-` and "not measured").
 */
export function formatGoals (results) {
  const tp = results.throughput
  const ratio = mode => tp?.modes?.[mode]?.ratio?.rps
  // The goal is measured on the service as deployed (--workers); one process is shown beside it.
  const acme8 = results.acme?.runs?.find(r => r.concurrency === 8 && r.workers != null && r.ratio_during_vs_idle)
  const acme8One = results.acme?.runs?.find(r => r.concurrency === 8 && r.workers == null && r.ratio_during_vs_idle)
  const acmeShown = r => `${int(r.wrk_during.rps)} vs ${int(r.wrk_idle.rps)}: ${x(r.ratio_during_vs_idle.rps)}`
  const sizes = results.scale?.sizes ?? []
  const largest = sizes.length > 1 ? sizes.reduce((a, b) => (b.tenants > a.tenants ? b : a)) : undefined
  const sw = results.sweep
  const ms = v => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(1)} ms` : '-')
  const rows = [
    ['keep-alive req/s, service (--workers auto) / nginx (worker_processes auto)', x(ratio('keepalive')), '>= 0.75x', ratio('keepalive'), v => v >= 0.75],
    ['new TLS connection per request, service / nginx', x(ratio('new_tls_conn')), '>= 0.9x', ratio('new_tls_conn'), v => v >= 0.9],
    ['p99 latency at half the service\'s keep-alive peak', ms(tp?.half_peak?.results?.service?.p99_ms), '< 5 ms', tp?.half_peak?.results?.service?.p99_ms, v => v < 5],
    [`ready with ${sw?.tenants?.toLocaleString('en-US') ?? '-'} tenants, each with its own certificate`, ms(sw?.ready_ms), '< 5000 ms', sw?.ready_ms, v => v < 5000],
    ['RSS max through the sweep of every tenant', typeof sw?.rss_max_kib === 'number' ? `${(sw.rss_max_kib * 1024 / 1e6).toFixed(0)} MB` : '-', '< 600 MB', sw?.rss_max_kib, v => v * 1024 / 1e6 < 600],
    ['cold-context handshake p99', ms(sw?.handshake_ms?.p99), '< 10 ms', sw?.handshake_ms?.p99, v => v < 10],
    [`policy req/s while 100 certificates are issued at concurrency 8 / idle (${acme8 ? `--workers ${acme8.workers}` : 'service as deployed'})`,
      [acme8 ? acmeShown(acme8) : '-', ...(acme8One ? [`(one process: ${acmeShown(acme8One)})`] : [])].join(' '), '>= 0.8x', acme8?.ratio_during_vs_idle?.rps, v => v >= 0.8],
    [`longest event-loop delay during a reload of ${largest?.tenants?.toLocaleString('en-US') ?? '-'} tenants`, ms(largest?.reload_loop_delay_max_ms), '<= 50 ms', largest?.reload_loop_delay_max_ms, v => v <= 50],
    [`slowest /healthz answer during that reload`, ms(largest?.max_probe_ms_during_reload), '<= 50 ms', largest?.max_probe_ms_during_reload, v => v <= 50],
  ]
  const m = results.meta
  return ['', `Issue 13 goals (this run; load average at start ${m.loadavg_start ?? '?'}, at end ${m.loadavg_end ?? '?'})`, table([
    ['measure', 'value', 'goal', 'verdict'],
    ...rows.map(([label, shown, goal, value, pass]) => [label, shown, goal, typeof value === 'number' && Number.isFinite(value) ? (pass(value) ? 'PASS' : 'FAIL') : 'not measured']),
  ], 1), ...nodeCeiling(tp)].join('\n')
}

/** The minimal Node server's ratios: how much of the gap to nginx is Node's own. */
function nodeCeiling (tp) {
  const modes = Object.entries(tp?.modes ?? {}).filter(([, m]) => m.node_ratio)
  if (modes.length === 0) return []
  return ['The same answers from a minimal node:https server (same workers, certificates, headers; no logging, metrics or routing):',
    ...modes.map(([, m]) => `  ${m.label}: minimal Node / nginx ${x(m.node_ratio.node_vs_nginx)}, service / minimal Node ${x(m.node_ratio.rps)}`)]
}
