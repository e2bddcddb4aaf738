/**
 * A real load balancer for cluster tests: Debian's `haproxy` (installed by
 * test/setup/system-packages.sh) in TCP mode, round robin, on loopback ports.
 * TLS passes through untouched, so clients (and Pebble's validation) see the
 * replicas' own certificates. A server is in rotation while its `/readyz`
 * answers 200, checked every 200 ms: one failed check takes it out, two good
 * ones put it back. A connection refused by a server is retried on another one.
 */
import { type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './fixtures.js'
import { dead, launch, stopProcess, tcpOpen, waitUntil } from './server-process.js'

/** One backend server: where the traffic goes, and the port of its `/readyz`. */
export interface BalancedServer {
  readonly port: number
  readonly checkPort: number
}

/** One listening port of the balancer, spreading connections over `servers`. */
export interface BalancedPort {
  readonly name: string
  readonly port: number
  readonly servers: readonly BalancedServer[]
}

/** A running haproxy, see {@link startHaproxy}. */
export interface Haproxy {
  /** What haproxy printed (server state changes), for debugging and assertions. */
  logs (): string[]
  stop (): Promise<void>
}

/** The haproxy configuration for `ports` (exported for its own test). */
export function haproxyConfig (ports: readonly BalancedPort[]): string {
  const lines = [
    'global', '  maxconn 4000',
    'defaults', '  mode tcp', '  timeout connect 500ms', '  timeout client 30s', '  timeout server 30s', '  timeout check 500ms',
    // A refused connection (a replica that just died) is retried, each retry on another server.
    '  retries 3', '  option redispatch 1',
  ]
  for (const { name, port, servers } of ports) {
    lines.push(`frontend fe_${name}`, `  bind 127.0.0.1:${port}`, `  default_backend be_${name}`)
    lines.push(`backend be_${name}`, '  balance roundrobin', '  option httpchk',
      '  http-check send meth GET uri /readyz ver HTTP/1.1 hdr host localhost',
      '  default-server inter 200ms fall 1 rise 2')
    servers.forEach((s, i) => lines.push(`  server r${i} 127.0.0.1:${s.port} check port ${s.checkPort}`))
  }
  return lines.join('\n') + '\n'
}

/** Start haproxy in the foreground for `ports`; stopped when the test ends. Resolves once every port accepts connections. */
export async function startHaproxy (t: { teardown (fn: () => unknown): void }, ports: readonly BalancedPort[]): Promise<Haproxy> {
  const dir = await tempDir(t, 'mta-sts-haproxy-')
  const file = join(dir, 'haproxy.cfg')
  await writeFile(file, haproxyConfig(ports))
  const logs: string[] = []
  const child: ChildProcess = launch('haproxy', ['-db', '-f', file], process.env, line => { logs.push(line) })
  t.teardown(() => stopProcess(child))
  const fail = (message: string): Error => new Error(`${message}\n${logs.slice(-20).join('\n')}`)
  for (const { port } of ports) await waitUntil(() => tcpOpen(port), () => dead(child), 'haproxy', fail)
  return { logs: () => [...logs], stop: () => stopProcess(child) }
}
