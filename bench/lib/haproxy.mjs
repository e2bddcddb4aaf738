// Debian's haproxy as the round-robin load balancer in front of replicas, TCP mode (TLS passes
// through), health-checked on each replica's /readyz. Installed by bench/lib/cluster.mjs when missing.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import net from 'node:net'
import { spawnChild, stopChild } from './proc.mjs'

/**
 * Start haproxy in `dir` with one frontend per entry of `fronts` ({ name, port, servers: [{ port, checkPort }] }).
 * Resolves once every frontend accepts connections and every server passed its health check.
 */
export async function startHaproxy ({ dir, fronts }) {
  const cfg = [
    'global', '  maxconn 4000',
    'defaults', '  mode tcp', '  timeout connect 1s', '  timeout client 60s', '  timeout server 60s', '  timeout check 1s',
    '  retries 3', '  option redispatch 1',
  ]
  for (const f of fronts) {
    cfg.push(`frontend fe_${f.name}`, `  bind 127.0.0.1:${f.port}`, `  default_backend be_${f.name}`,
      `backend be_${f.name}`, '  balance roundrobin', '  option httpchk', '  http-check send meth GET uri /readyz ver HTTP/1.1 hdr host localhost',
      '  default-server inter 500ms fall 2 rise 1')
    f.servers.forEach((s, i) => cfg.push(`  server r${i} 127.0.0.1:${s.port} check port ${s.checkPort}`))
  }
  const file = join(dir, 'haproxy.cfg')
  writeFileSync(file, cfg.join('\n') + '\n')
  const child = spawnChild('haproxy', ['-db', '-f', file], { stdout: 'ignore', stderr: 'ignore' })
  for (const f of fronts) {
    const deadline = Date.now() + 10_000
    while (!(await tcpOpen(f.port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`haproxy did not listen on ${f.port}`)
      await sleep(50)
    }
  }
  await sleep(1200) // a health check round (500 ms) or two, so every server is up
  return { child, stop: () => stopChild(child) }
}

function tcpOpen (port) {
  return new Promise(resolve => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
