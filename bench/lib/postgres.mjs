// A PostgreSQL server of the benchmark's own (Debian postgresql-15, installed when missing):
// a temp data directory owned by the postgres user (PostgreSQL refuses to run as root),
// a loopback port, trust authentication.
import { chownSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { freePort, makeTempDir, run, spawnChild, stopChild } from './proc.mjs'

export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin'

/**
 * Start PostgreSQL in a temp dir of its own directly under the system temp dir (the postgres user
 * must reach it: the benchmark's own temp dir is root's, mode 0700); resolves once it takes connections.
 */
export async function startPostgres () {
  const dir = makeTempDir('mta-sts-bench-pg-')
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('no postgres user: is postgresql-15 installed?')
  chownSync(dir, uid, uid)
  const data = join(dir, 'data')
  const init = await run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], { timeoutMs: 120_000 })
  if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`)
  const port = await freePort()
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  // fsync off: the benchmark measures the service, not the disk; commits still go through the WAL.
  const child = spawnChild('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, 'postgres'), '-D', data, '-k', dir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=300'])
  const deadline = Date.now() + 60_000
  for (;;) {
    const client = new pg.Client({ connectionString: url })
    try {
      await client.connect()
      await client.end()
      break
    } catch (err) {
      await client.end().catch(() => {})
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`PostgreSQL did not start: ${err.message}`)
      await sleep(100)
    }
  }
  let databases = 0
  const query = async (database, text, values = []) => {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/${database}` })
    await client.connect()
    try { return (await client.query(text, values)).rows } finally { await client.end() }
  }
  return {
    port,
    url,
    async version () { return (await query('postgres', 'show server_version'))[0].server_version },
    /** A new empty database; returns its name and URL. */
    async createDatabase () {
      const name = `bench_${process.pid}_${++databases}`
      await query('postgres', `create database "${name}"`)
      return { name, url: `postgres://postgres@127.0.0.1:${port}/${name}` }
    },
    query,
    /**
     * Transactions committed or rolled back in `database` so far: every statement a replica sends
     * outside a transaction is one. Backends report their counts at most once a second, so read it
     * after a quiet second.
     */
    async transactions (database) {
      const rows = await query('postgres', 'select xact_commit + xact_rollback as n from pg_stat_database where datname = $1', [database])
      return Number(rows[0]?.n ?? 0)
    },
    async stop () {
      // runuser passes SIGTERM on (smart shutdown); the postmaster's pid file names the server itself.
      try {
        const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
        if (pid > 0) process.kill(pid, 'SIGINT')
      } catch { /* gone */ }
      await stopChild(child, 15_000)
    },
  }
}
