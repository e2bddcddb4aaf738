import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts')

/** A running CLI child process: its JSON log lines, its stderr, and its exit. */
export interface Cli {
  child: ChildProcess
  lines: Record<string, unknown>[]
  stderr: () => string
  waitFor: (match: (l: Record<string, unknown>) => boolean, ms?: number) => Promise<Record<string, unknown>>
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Run the real CLI (`src/main.ts` through tsx) as a child process, with `nodeArgs` (such as a preload) added to node's. */
export function runCli (t: { teardown (fn: () => unknown): void }, args: string[], nodeArgs: readonly string[] = []): Cli {
  // The same loader and coverage hooks tap gave this process, so the child's coverage is counted like ours.
  const child = spawn(process.execPath, [...process.execArgv, ...nodeArgs, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: Record<string, unknown>[] = []
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = []
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  createInterface({ input: child.stdout! }).on('line', text => {
    let line: Record<string, unknown>
    try { line = JSON.parse(text) as Record<string, unknown> } catch { line = { text } }
    lines.push(line)
    for (const w of [...waiters]) if (w.match(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line) }
  })
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return {
    child,
    lines,
    stderr: () => stderr,
    exit,
    // A bound, not a measurement: start-up under the coverage loader on a loaded 2-core machine took 16 s.
    waitFor: (match, ms = 60_000) => {
      const found = lines.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching line in ${ms} ms; stderr: ${stderr}`)), ms)
        waiters.push({ match, resolve: l => { clearTimeout(timer); resolve(l) } })
      })
    },
  }
}
