// Child processes, temp dirs and cleanup shared by the benchmark.
// Every child is spawned detached (its own process group) and remembered by
// pid, so cleanup can signal exactly the processes this script started.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const children = new Set()
const tempDirs = new Set()
let cleaned = false

/** Make a temp dir that is removed on exit. */
export function makeTempDir (prefix = 'mta-sts-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

/**
 * Spawn a long-lived child in its own process group. `stdout`/`stderr` may
 * be 'ignore', 'pipe' or file descriptors. Returns the ChildProcess, with
 * `exited` (a promise of {code, signal}).
 */
export function spawnChild (cmd, args, opts = {}) {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', opts.stdout ?? 'ignore', opts.stderr ?? 'ignore'],
    detached: true,
  })
  children.add(child)
  child.exited = new Promise(resolve => {
    child.once('exit', (code, signal) => { children.delete(child); resolve({ code, signal }) })
    child.once('error', err => { children.delete(child); resolve({ code: -1, signal: null, error: err }) })
  })
  return child
}

/** SIGTERM the child's process group, SIGKILL it after `graceMs`. */
export async function stopChild (child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exited
  signalGroup(child, 'SIGTERM')
  const done = await Promise.race([child.exited, sleep(graceMs).then(() => null)])
  if (done) { signalGroup(child, 'SIGKILL'); return done } // stray group members (e.g. nginx workers)
  signalGroup(child, 'SIGKILL')
  return child.exited
}

function signalGroup (child, signal) {
  try { process.kill(-child.pid, signal) } catch {
    try { child.kill(signal) } catch { /* already gone */ }
  }
}

/** Synchronous last-resort cleanup: kill remembered children, remove temp dirs. */
export function cleanupSync () {
  if (cleaned) return
  cleaned = true
  for (const child of children) signalGroup(child, 'SIGKILL')
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }) } catch { /* best effort */ }
  }
}

/** Install exit/signal handlers that run {@link cleanupSync}. */
export function installCleanup () {
  process.on('exit', cleanupSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`)
      cleanupSync()
      process.exit(sig === 'SIGINT' ? 130 : 143)
    })
  }
  process.on('uncaughtException', err => {
    process.stderr.write(`bench: uncaught ${err?.stack ?? err}\n`)
    cleanupSync()
    process.exit(1)
  })
  process.on('unhandledRejection', err => {
    process.stderr.write(`bench: unhandled rejection ${err?.stack ?? err}\n`)
    cleanupSync()
    process.exit(1)
  })
}

/** Run a command to completion (bounded), capturing output. */
export function run (cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawnChild(cmd, args, { ...opts, stdout: 'pipe', stderr: 'pipe' })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', d => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', d => { stderr += d })
    const timeoutMs = opts.timeoutMs ?? 60_000
    const timer = setTimeout(() => { signalGroup(child, 'SIGKILL') }, timeoutMs)
    child.exited.then(({ code, signal, error }) => {
      clearTimeout(timer)
      if (error) return reject(new Error(`${cmd}: ${error.message}`))
      if (signal === 'SIGKILL' && code === null) return reject(new Error(`${cmd} ${args.join(' ')}: killed after ${timeoutMs} ms\n${stderr}`))
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Is `cmd` on PATH? */
export function have (cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

const usedPorts = new Set()

/** A free TCP port on 127.0.0.1 in 20000-32000 (below Linux's ephemeral range). */
export async function freePort () {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    if (usedPorts.has(port)) continue
    const ok = await new Promise(resolve => {
      const srv = createServer()
      srv.once('error', () => resolve(false))
      srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)))
    })
    if (ok) { usedPorts.add(port); return port }
  }
  throw new Error('no free port found in 20000-32000')
}

/** Resident set size of `pid` in KiB (VmRSS), or undefined. */
export function rssKiB (pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

const CLK_TCK = 100 // Linux USER_HZ: /proc/PID/stat times are in 1/100 s

/** User+system CPU seconds of `pid` alone (all its threads, no children); 0 when it is gone. */
export function ownCpuSeconds (p) {
  try {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK // utime, stime (fields 14, 15)
  } catch {
    return 0
  }
}

/** User+system CPU seconds of `pid` and its direct children (nginx workers, the service's `--workers`). */
export function cpuSeconds (pid) {
  const one = ownCpuSeconds
  let kids = []
  try { kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean) } catch { /* none */ }
  return one(pid) + kids.reduce((sum, k) => sum + one(k), 0)
}

/** 1-minute load average. */
export function loadAverage () {
  try { return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]) } catch { return undefined }
}

/** Failure bookkeeping of a benchmark run: `fail` records and prints, `log` prints progress (stderr). */
export function runLog () {
  const failures = []
  return {
    failures,
    fail (where, err) {
      const message = `${where}: ${err?.message ?? err}`
      failures.push(message)
      console.error(`bench: FAILED ${message}`)
    },
    log: msg => console.error(`bench: ${msg}`),
  }
}

/** What a results file records about the machine and the invocation. */
export function runMeta () {
  return {
    started_at: new Date().toISOString(),
    argv: process.argv.slice(2),
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    kernel: os.release(),
    loadavg_start: loadAverage(),
  }
}
