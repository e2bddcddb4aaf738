import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const CHILD = join(import.meta.dirname, 'crash-child.ts')

/** A {@link CHILD} process and its JSON log lines. */
export interface CrashProcess {
  readonly child: ChildProcess
  readonly lines: Record<string, unknown>[]
  /** Resolves with the first line matching `match`; rejects when the process exits first or after `ms`. */
  waitFor (match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>
  /** SIGKILL (no cleanup of any kind in the child) and wait until it is reaped. */
  kill (): Promise<void>
}

/**
 * Start `test/helpers/crash-child.ts` (or `script`, its transpiled form, with
 * plain node) with `args`. Only the TypeScript loader is passed on (not tap's
 * coverage hooks: a killed child writes no coverage, and the hooks slow its
 * start). Killed at teardown if still running.
 */
export function startCrashProcess (t: { teardown (fn: () => unknown): void }, args: string[], script?: string): CrashProcess {
  const loader = script ? [] : process.execArgv.filter(a => a.includes('@tapjs/typescript') || a === '--enable-source-maps')
  const child = spawn(process.execPath, [...loader, script ?? CHILD, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = once(child, 'exit')
  const lines: Record<string, unknown>[] = []
  const waiters = new Set<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>()
  createInterface({ input: child.stdout! }).on('line', text => {
    let line: Record<string, unknown>
    try { line = JSON.parse(text) as Record<string, unknown> } catch { line = { text } }
    lines.push(line)
    for (const w of waiters) if (w.match(line)) { waiters.delete(w); w.resolve(line) }
  })
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  t.teardown(kill)
  return {
    child,
    lines,
    kill,
    waitFor: (match, ms = 60_000) => {
      const found = lines.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`no matching line in ${ms} ms`)) }, ms)
        const waiter = { match, resolve: (l: Record<string, unknown>) => { clearTimeout(timer); resolve(l) } }
        waiters.add(waiter)
        void exited.then(() => { if (waiters.delete(waiter)) { clearTimeout(timer); reject(new Error('the child exited')) } })
      })
    },
  }
}
