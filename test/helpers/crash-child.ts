/**
 * A child process for crash tests, killed with SIGKILL by the parent.
 * - `hold <storage> <lock>`: take a store lock, print `{"event":"locked"}`, never release it.
 * - `hold-pg <database url> <lock>`: the same with a PostgresStore on that database.
 * - `serve <config>`: load everything, print `{"event":"child_loaded"}`, then start the real
 *   `serve` command when a line arrives on stdin (so TypeScript loading is not part of the crash window).
 */
import { once } from 'node:events'
import { createInterface } from 'node:readline'

const [mode, arg, name] = process.argv.slice(2) as [string, string, string | undefined]
const keepAlive = setInterval(() => {}, 1 << 30)
if (mode === 'hold') {
  const { FileStore } = await import('../../src/store/file-store.js')
  await new FileStore(arg).lock(name as string)
  process.stdout.write('{"event":"locked"}\n')
} else if (mode === 'hold-pg') {
  const { default: pg } = await import('pg')
  const { PostgresStore } = await import('../../src/store/postgres-store.js')
  const pool = new pg.Pool({ connectionString: arg, connectionTimeoutMillis: 5000 })
  pool.on('error', () => {})
  await (await PostgresStore.open(pool)).lock(name as string)
  process.stdout.write('{"event":"locked"}\n')
} else {
  const { serveCommand } = await import('../../src/cli/serve.js')
  process.stdout.write('{"event":"child_loaded"}\n')
  const lines = createInterface({ input: process.stdin })
  await once(lines, 'line')
  lines.close()
  clearInterval(keepAlive)
  await serveCommand({ config: arg }, { stdout: process.stdout, stderr: process.stderr })
}
