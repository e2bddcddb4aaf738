#!/usr/bin/env node
// Time `validate` (loadConfig) on the hostile and large configurations of issue 7, point 3.
// Each case is written to a temp file and loaded in a fresh child process, so one slow case
// cannot skew the next; wall and CPU time (user + system: skewed less by a busy machine) are
// printed. Usage (after `npm run build`):
//
//   node bench/config-validate.mjs [--dist DIR] [--only NAME,...] [--max-wait S]
//
// --dist points at another build of src/ (e.g. `npx tsc -p tsconfig.build.json --outDir
// /tmp/before` on an older commit, with node_modules reachable from it) to compare.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string', default: fileURLToPath(new URL('../dist/', import.meta.url)) },
    only: { type: 'string' },
    'max-wait': { type: 'string', default: '120' },
  },
})

const mxList = (n, prefix = 'mx') => Array.from({ length: n }, (_, i) => `${prefix}${i}.example.net`)
const head = 'certificates: {issuer: internal}\ndefaults: {mx: [mx.example.net]}\ntenants:\n'

/** name -> configuration text. */
const CASES = {
  // The issue's alias bomb: one 5,000-entry mx list, then 99 tenants that alias it (~97 KB).
  'aliases-99x5000': () => head + `  t0.example.com:\n    mx: &a [${mxList(5000).join(', ')}]\n` +
    Array.from({ length: 99 }, (_, i) => `  t${i + 1}.example.com: {mx: *a}\n`).join(''),
  // The same shape under the default limits: 99 aliases of a 1,000-entry list.
  'aliases-99x1000': () => head + `  t0.example.com:\n    mx: &a [${mxList(1000).join(', ')}]\n` +
    Array.from({ length: 99 }, (_, i) => `  t${i + 1}.example.com: {mx: *a}\n`).join(''),
  // One tenant with 20,000 mx entries, all distinct.
  'mx-20000': () => head + `  example.com:\n    mx:\n${mxList(20000).map(m => `      - ${m}\n`).join('')}`,
  // One tenant with 20,000 copies of the same entry (each a duplicate warning).
  'mx-20000-same': () => head + `  example.com:\n    mx:\n${'      - mx.example.net\n'.repeat(20000)}`,
  // Just under the default per-tenant limit.
  'mx-1000': () => head + `  example.com:\n    mx:\n${mxList(1000).map(m => `      - ${m}\n`).join('')}`,
  // 20,000 tenants sharing one 2-entry mx list by alias (yaml's own alias lookup is quadratic).
  'alias-20000-tenants': () => head + '  t.example.com: {mx: &s [a.example.net, b.example.net]}\n' +
    Array.from({ length: 20000 }, (_, i) => `  t${i}.example.com: {mx: *s}\n`).join(''),
  // The product's scale: 100,000 tenants on the defaults.
  'tenants-100000': () => head + Array.from({ length: 100000 }, (_, i) => `  t${i}.example.com:\n`).join(''),
}

const names = opts.only ? opts.only.split(',') : Object.keys(CASES)
const loader = resolve(opts.dist, 'config/load-config.js')
const dir = mkdtempSync(join(tmpdir(), 'config-validate-'))
const child = `
  const { loadConfig } = await import(${JSON.stringify(loader)})
  const start = performance.now()
  const cpu = process.cpuUsage()
  const result = await loadConfig(process.argv[1])
  const ms = performance.now() - start
  const used = process.cpuUsage(cpu)
  const cpuMs = (used.user + used.system) / 1000
  const first = result.ok ? '' : result.errors[0].message
  console.log(JSON.stringify({ ms, cpuMs, ok: result.ok, errors: result.ok ? 0 : result.errors.length,
    warnings: (result.ok ? result.config.warnings : result.warnings).length, first }))
`
try {
  console.log(`build: ${opts.dist}`)
  console.log('case              size     wall s   CPU s  result')
  for (const name of names) {
    const file = join(dir, `${name}.yaml`)
    writeFileSync(file, CASES[name]())
    const size = statSync(file).size
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', child, file], {
      encoding: 'utf8', timeout: Number(opts['max-wait']) * 1000,
    })
    let line
    if (run.error || run.status !== 0) {
      line = `failed: ${run.error?.message ?? run.stderr.split('\n')[0]}`
    } else {
      const r = JSON.parse(run.stdout)
      line = `${(r.ms / 1000).toFixed(2).padStart(7)} ${(r.cpuMs / 1000).toFixed(2).padStart(7)}  ${r.ok ? 'valid' : `${r.errors} error(s)`}, ${r.warnings} warning(s)${r.first ? `: ${r.first.slice(0, 90)}` : ''}`
    }
    console.log(`${name.padEnd(16)} ${(size / 1024).toFixed(0).padStart(6)} KB ${line}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
