// wrk and curl, run inside a private mount namespace whose /etc/hosts maps
// the tenant host names to 127.0.0.1, so TLS SNI and Host carry the real
// tenant name while all traffic stays on loopback.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { have, run } from './proc.mjs'

const NS_SCRIPT = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'

/** Run `cmd args` with `hostsFile` bind-mounted over /etc/hosts. */
export function runInHostsNamespace (hostsFile, cmd, args, opts = {}) {
  return run('unshare', ['-m', 'sh', '-c', NS_SCRIPT, 'sh', hostsFile, cmd, ...args], opts)
}

/**
 * One wrk run. `close: true` sends `Connection: close`, so every request
 * pays a new TCP connection and a full TLS handshake; `script` is a wrk Lua
 * script (the fixed-rate run of rate.mjs).
 */
export async function runWrk ({ hostsFile, url, durationS, connections, threads, close = false, timeoutS = 2, script }) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${durationS}s`, '--timeout', `${timeoutS}s`, '--latency']
  if (close) args.push('-H', 'Connection: close')
  if (script !== undefined) args.push('-s', script)
  args.push(url)
  // /usr/bin/time reports wrk's own CPU use: near 100% of a thread means the client, not the server, is the limit.
  const timed = have('/usr/bin/time')
  const res = timed
    ? await runInHostsNamespace(hostsFile, '/usr/bin/time', ['-f', 'BENCH_TIME %e %U %S', 'wrk', ...args], { timeoutMs: (durationS + 30) * 1000 })
    : await runInHostsNamespace(hostsFile, 'wrk', args, { timeoutMs: (durationS + 30) * 1000 })
  if (res.code !== 0) throw new Error(`wrk exited with ${res.code}: ${res.stderr || res.stdout}`)
  const t = /BENCH_TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(res.stderr)
  const client = t ? { client_cpu_s: Number(t[2]) + Number(t[3]), client_wall_s: Number(t[1]) } : {}
  return { ...parseWrk(res.stdout), ...client, raw: res.stdout }
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parse wrk 4 `--latency` output. Throws when the essential lines are missing. */
export function parseWrk (text) {
  const num = re => { const m = re.exec(text); return m ? Number(m[1]) : undefined }
  const duration = (v, unit) => Number(v) * UNIT_MS[unit]
  const latency = {}
  for (const p of ['50', '75', '90', '99']) {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(text)
    if (m) latency[`p${p}_ms`] = duration(m[1], m[2])
  }
  const avg = /^\s+Latency\s+([\d.]+)(us|ms|s|m|h)/m.exec(text)
  const total = /^\s+(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+\w+) read/m.exec(text)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  const out = {
    requests: total ? Number(total[1]) : undefined,
    seconds: total ? duration(total[2], total[3]) / 1000 : undefined,
    transferred: total ? total[4] : undefined,
    rps: num(/^Requests\/sec:\s+([\d.]+)/m),
    latency_avg_ms: avg ? duration(avg[1], avg[2]) : undefined,
    ...latency,
    non_2xx_3xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0,
    socket_errors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  }
  if (out.requests === undefined || out.rps === undefined || out.p50_ms === undefined || out.p99_ms === undefined) {
    throw new Error(`cannot parse wrk output:\n${text}`)
  }
  return out
}

/** Problems in a wrk result that make it unusable as a measurement. */
export function wrkProblems (r) {
  const problems = []
  if (r.requests === 0) problems.push('no requests completed')
  if (r.non_2xx_3xx > 0) problems.push(`${r.non_2xx_3xx} non-2xx/3xx responses`)
  const errs = Object.entries(r.socket_errors).filter(([, v]) => v > 0)
  if (errs.length > 0) problems.push(`socket errors: ${errs.map(([k, v]) => `${k} ${v}`).join(', ')}`)
  return problems
}

/**
 * Fetch `url` with curl through the same name resolution as wrk, trusting
 * `caFile`; returns status, headers and body bytes.
 */
export async function curlFetch ({ hostsFile, url, caFile, workDir, tag }) {
  const headersFile = join(workDir, `curl-${tag}.headers`)
  const bodyFile = join(workDir, `curl-${tag}.body`)
  const res = await runInHostsNamespace(hostsFile, 'curl', [
    '-sS', '--max-time', '10', '--cacert', caFile, '-D', headersFile, '-o', bodyFile, '-w', '%{http_code}', url,
  ], { timeoutMs: 20_000 })
  if (res.code !== 0) return { ok: false, curlExit: res.code, error: res.stderr.trim() }
  const headers = {}
  for (const line of readFileSync(headersFile, 'latin1').split('\r\n').slice(1)) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return { ok: true, status: Number(res.stdout.trim()), headers, body: readFileSync(bodyFile) }
}
