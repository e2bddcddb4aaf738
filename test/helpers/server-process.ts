/**
 * Child processes of the test helpers that start real servers (Pebble, Dovecot...): launch,
 * wait until ready, stop, and free loopback ports. A child still running when the test process
 * exits is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer } from 'node:net'
import { createInterface } from 'node:readline'

/** A bound on waiting, not a measurement: generous for a loaded machine. */
const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 3_000

/** Children still running in this process, killed synchronously if the process exits without teardown. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { port > 0 ? resolve(port) : reject(new Error('no port')) })
    })
  })
}

/** `n` distinct free loopback ports. */
export async function distinctFreePorts (n: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort())
  return [...ports]
}

/** Spawn `cmd`, feeding each line it prints (stdout and stderr) to `onLine`. */
export function launch (cmd: string, args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void): ChildProcess {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  child.once('exit', () => { live.delete(child) })
  // A missing binary is reported as an 'error' event; note it where the readiness wait sees it.
  child.once('error', err => { onLine(`spawn error: ${err.message}`) })
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) createInterface({ input: stream }).on('line', onLine)
  }
  return child
}

/** Exited, killed, or never started (spawn error: no pid). */
export function dead (child: ChildProcess): boolean {
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the child has exited. No-op for an exited child. */
export async function stopProcess (child: ChildProcess | undefined): Promise<void> {
  if (child === undefined) return
  if (dead(child)) {
    live.delete(child)
    return
  }
  const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
  live.delete(child)
}

/** Poll `ready` every 50 ms for at most 10 s; fails early when `exited()` says the server died. */
export async function waitUntil (
  ready: () => Promise<boolean>,
  exited: () => boolean,
  what: string,
  fail: (message: string) => Error,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (exited()) throw fail(`${what} exited before it was ready`)
    if (await ready().catch(() => false)) return
    if (Date.now() > deadline) throw fail(`${what} not ready after ${READY_TIMEOUT_MS} ms`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export async function tcpOpen (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(1000)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => { resolve(false) })
  })
}
