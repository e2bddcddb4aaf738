import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './server-process.js'

/** Debian's PostgreSQL 15 programs (package `postgresql-15`, installed by test/setup/system-packages.sh). */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin'

/** A PostgreSQL server of its own for one test file: a temp data directory, a loopback port, the `postgres` user. */
export interface PostgresServer {
  readonly port: number
  /** Superuser URL of the `postgres` database. */
  readonly url: string
  /** A new, empty database; returns its URL. */
  createDatabase (name?: string): Promise<string>
  /** Stops the server (fast shutdown) and waits for it. */
  stop (): Promise<void>
  /** `kill -9` of the postmaster, for outage tests. */
  kill (): Promise<void>
  /** Starts it again on the same data directory and port after {@link stop} or {@link kill}. */
  restart (): Promise<void>
}


function uid (user: string): number {
  const out = spawnSync('id', ['-u', user], { encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`no ${user} user: is postgresql-15 installed? ${out.stderr}`)
  return Number(out.stdout.trim())
}

/**
 * Starts PostgreSQL 15 as the `postgres` user (it refuses to run as root) on a temp data directory and
 * a free loopback port, trusting local connections; stopped and removed when the test ends. `fsync` is
 * off (a test server's data need not survive a power cut: much faster), commits still reach the WAL
 * before they return, so data survives a `kill -9` of the server.
 */
export async function startPostgres (t: { teardown (fn: () => unknown): void }): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mta-sts-pg-'))
  const id = uid('postgres')
  chownSync(dir, id, id)
  const data = join(dir, 'data')
  const init = spawnSync('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], { encoding: 'utf8' })
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`)
  const port = await freePort()
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let child: ChildProcess | undefined
  let databases = 0

  const start = async (): Promise<void> => {
    child = spawn('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, 'postgres'), '-D', data, '-k', dir, '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    { stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    child.stderr?.on('data', (c: Buffer) => { log = (log + c.toString()).slice(-4000) })
    const deadline = Date.now() + 30_000
    for (;;) {
      const client = new pg.Client({ connectionString: url })
      try {
        await client.connect()
        await client.end()
        return
      } catch {
        await client.end().catch(() => undefined)
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`PostgreSQL did not start: ${log}`)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    }
  }
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise(resolve => running.once('exit', resolve))
    // runuser forwards signals to the postmaster; SIGKILL would only kill runuser, so the postmaster is found by its pid file.
    const pid = Number(spawnSync('head', ['-1', join(data, 'postmaster.pid')], { encoding: 'utf8' }).stdout.trim())
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, signal)
    else running.kill(signal)
    await exited
  }

  await start()
  t.teardown(async () => {
    await stopWith('SIGINT')
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    port,
    url,
    async createDatabase (name = `test_${process.pid}_${++databases}`) {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await client.query(`create database "${name}"`)
      } finally {
        await client.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    },
    stop: async () => { await stopWith('SIGINT') },
    kill: async () => { await stopWith('SIGKILL') },
    restart: start,
  }
}
