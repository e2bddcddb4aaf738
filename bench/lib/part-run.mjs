// What the entry scripts of the benchmark's parts (bench/acme.mjs, bench/reports.mjs,
// bench/cluster.mjs) share: option checks and the end of a run (header, table, failures,
// results file, cleanup, exit status).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cleanupSync, loadAverage } from './proc.mjs'

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url))

/** A parser of positive integer options that exits 2 with `usage` on anything else. */
export function positiveInt (usage) {
  return (name, v) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n <= 0) { console.error(`bench: --${name} must be a positive integer\n${usage}`); process.exit(2) }
    return n
  }
}

/**
 * Print the header (`title`), `table()` when there are results, the failures, write `results` to
 * bench/results/`file`, clean up, and return the exit status (1 when anything failed).
 */
export function finishPart ({ title, results, table, file, failures, fail, log }) {
  results.meta.finished_at = new Date().toISOString()
  results.meta.loadavg_end = loadAverage()
  const m = results.meta
  console.log(`\nmta-sts-host ${title}  (${m.started_at}; node ${m.node}; ${m.cpus} CPU(s) ${m.cpu_model ?? ''}; ${(m.wrk_version ?? 'wrk').replace(/ Copyright.*/, '')})`)
  console.log(`load average at start ${m.loadavg_start ?? '?'}, at end ${m.loadavg_end ?? '?'}${m.loadavg_start > m.cpus / 4 ? '  (WARNING: other load on the machine; numbers are noisy)' : ''}`)
  const text = table()
  if (text) console.log(text)
  console.log(failures.length ? `\nFAILURES (${failures.length}):\n${failures.map(f => `  - ${f.split('\n')[0]}`).join('\n')}\n` : '\nall checks passed\n')
  try {
    mkdirSync(RESULTS_DIR, { recursive: true })
    writeFileSync(join(RESULTS_DIR, file), JSON.stringify(results, null, 2) + '\n')
    log(`results written to ${join(RESULTS_DIR, file)}`)
  } catch (err) {
    fail('results', err)
  }
  cleanupSync()
  return failures.length > 0 ? 1 : 0
}
