import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { ManualClock } from '../src/clock.js'
import { parseConfig } from '../src/config/load-config.js'
import { createLogger } from '../src/log.js'
import { createService, TLS_HANDSHAKE_TIMEOUT_MS } from '../src/service.js'
import { FileStore } from '../src/store/file-store.js'
import { currentOwner, ownerTag } from '../src/store/lock-owner.js'
import { MemoryStore } from '../src/store/memory-store.js'
import { InternalCa } from '../src/tls/internal-ca.js'
import { httpsFetch, preamble, startService, tempDir } from './helpers/service-harness.js'

t.test('files issuer: serves operator certificates; readiness waits for every tenant', async t => {
  const certs = await tempDir(t)
  const caStore = new MemoryStore()
  const ca = await InternalCa.open({ store: caStore, clock: new ManualClock(), leafLifetime: 30 * 86400 })
  const put = async (host: string): Promise<void> => {
    const issued = await ca.obtain(host)
    await mkdir(join(certs, host), { recursive: true })
    await writeFile(join(certs, host, 'privkey.pem'), issued.keyPem, { mode: 0o600 })
    await writeFile(join(certs, host, 'fullchain.pem'), issued.certPem)
  }
  await put('mta-sts.example.com')
  const yaml = `  files: { directory: ${JSON.stringify(certs)} }
tenants:
  example.com:
    mx: [mx1.example.com]
  example.org:
    mx: [mail.example.org]
`
  const h = await startService(t, yaml, { issuer: 'files', deps: { certificateCheckMs: 100 } })
  const res = await httpsFetch(h.addresses.https.port, 'mta-sts.example.com', { ca: ca.caPem })
  t.equal(res.status, 200)
  const notReady = await h.get('ops', '/readyz')
  t.equal(notReady.status, 503)
  t.match(JSON.parse(notReady.body.toString()), {
    status: 'not ready',
    reasons: ['some tenant hosts have no usable certificate'],
    certificates: { issuer: 'files', unavailable: ['mta-sts.example.org'], unavailable_count: 1 },
  })
  await t.rejects(httpsFetch(h.addresses.https.port, 'mta-sts.example.org', { ca: ca.caPem }), 'no certificate: handshake fails')
  t.ok(h.logs.some(l => l.event === 'certificate_failed' && l.host === 'mta-sts.example.org'))
  t.equal(h.caPem, '', 'no internal CA with the files issuer')
  t.notOk(preamble(h.dir, 'files').includes('internal'))
})

t.test('TLS handshake timeout: 10 s by default; a client that never sends a ClientHello is dropped after it', async t => {
  t.equal(TLS_HANDSHAKE_TIMEOUT_MS, 10_000)
  const handshakeTimeout = (server: object): unknown => {
    const key = Object.getOwnPropertySymbols(server).find(s => s.description === 'handshake-timeout')
    return key === undefined ? undefined : (server as Record<symbol, unknown>)[key]
  }
  const tenants = 'tenants:\n  example.com:\n    mx: [mx1.example.com]\n'
  const byDefault = await startService(t, tenants)
  t.equal(handshakeTimeout(byDefault.service.apps.https.server), 10_000, 'the HTTPS server is given 10 s (Node: 120 s)')
  const h = await startService(t, tenants, { deps: { tlsHandshakeTimeoutMs: 300 } })
  const silent = netConnect(h.addresses.https.port, '127.0.0.1')
  silent.on('error', () => {})
  t.teardown(() => silent.destroy())
  await once(silent, 'connect')
  const connected = Date.now()
  await once(silent, 'close')
  const ms = Date.now() - connected
  t.ok(ms >= 250 && ms < 5000, `dropped after ${ms} ms (timeout 300 ms)`)
})

t.test('ops listener: a bearer token from listen.ops.token_file; a non-loopback address needs one', async t => {
  const dir = await tempDir(t)
  const tokenFile = join(dir, 'ops.token')
  await writeFile(tokenFile, 'tok-3f9a1c\n', { mode: 0o600 })
  const tenants = 'tenants:\n  example.com:\n    mx: [mx1.example.com]\n'
  const withToken = (host: string, file?: string): string => preamble(dir).replace('ops: { host: "127.0.0.1", port: 0 }', `ops: { host: ${JSON.stringify(host)}, port: 0${file ? `, token_file: ${JSON.stringify(file)}` : ''} }`) + tenants
  const config = (yaml: string) => {
    const result = parseConfig(yaml, join(dir, 'config.yaml'))
    if (!result.ok) throw new Error(JSON.stringify(result.errors))
    return result.config
  }
  const relative = config(withToken('127.0.0.1', 'ops.token'))
  t.equal(relative.listen.ops.tokenFile, tokenFile, 'relative to the configuration file')
  const logger = createLogger('silent')
  const loopback = config(withToken('127.0.0.1'))
  for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
    t.throws(() => config(withToken(host)), /is not a loopback address, and the ops listener has no token/, `${host}: a configuration error`)
    // A configuration built in code (not through loadConfig) is refused by the service itself.
    const built = { ...loopback, listen: { ...loopback.listen, ops: { ...loopback.listen.ops, host } } }
    await t.rejects(createService(built, { logger }), {
      code: 'MTA_STS_OPS_NOT_LOOPBACK',
      message: `listen.ops.host ${host} is not a loopback address: set listen.ops.token_file (a bearer token) or bind ops to 127.0.0.1`,
    }, `${host} without a token`)
  }
  await writeFile(join(dir, 'empty.token'), '\n', { mode: 0o600 })
  await t.rejects(createService(config(withToken('127.0.0.1', 'empty.token')), { logger }), { code: 'MTA_STS_OPS_TOKEN_EMPTY', message: /listen\.ops\.token_file .*empty\.token is empty/ })

  const h = await startService(t, withToken('0.0.0.0', tokenFile), { raw: true })
  t.equal(h.addresses.ops.address, '0.0.0.0', 'with a token, ops may listen on every address')
  t.equal((await h.get('ops', '/metrics')).status, 401)
  t.equal((await h.get('ops', '/metrics', { headers: { authorization: 'Bearer tok-3f9a1c' } })).status, 200)
  t.equal((await h.get('ops', '/healthz')).status, 200)
  t.notOk(JSON.stringify(h.logs).includes('tok-3f9a1c'), 'the token is never logged')
})

t.test('close(): a request that never finishes arriving is cut after the grace period', async t => {
  const h = await startService(t, 'tenants:\n  example.com:\n    mx: [mx1.example.com]\n', { deps: { shutdownGraceMs: 200 } })
  const half = netConnect(h.addresses.http.port, '127.0.0.1')
  half.on('error', () => {})
  t.teardown(() => half.destroy())
  await once(half, 'connect')
  half.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  await new Promise(resolve => setTimeout(resolve, 100))
  const started = Date.now()
  await h.service.close()
  const ms = Date.now() - started
  t.ok(ms >= 150 && ms < 1000, `closed in ${ms} ms (grace 200 ms)`)
  t.ok(half.destroyed || (await once(half, 'close'), true), 'the connection was cut')
})

t.test('start-up removes what a crash left in the store and logs the counts (never names or contents)', async t => {
  const root = join(await tempDir(t), 'store')
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  const dead = { ...currentOwner(), pid: child.pid as number }
  await mkdir(join(root, '.tmp', ownerTag(dead)), { recursive: true })
  await writeFile(join(root, '.tmp', ownerTag(dead), '0123456789abcdef'), '-----BEGIN PRIVATE KEY-----\nSECRET-HALF-WRITTEN')
  await mkdir(join(root, '.locks'), { recursive: true })
  await writeFile(join(root, '.locks', 'issue-mta-sts.example.com.lock'), JSON.stringify({ token: 'x', owner: dead, expires: Date.now() + 3600_000 }))
  const yaml = `  files: { directory: ${JSON.stringify(join(root, 'no-certs'))} }\ntenants:\n  example.com:\n    mx: [mx1.example.com]\n`
  const h = await startService(t, yaml, { issuer: 'files', deps: { store: new FileStore(root) } })
  const line = await h.waitForLog(l => l.event === 'store_cleanup')
  t.match(line, { level: 'info', temp_files: 1, locks: 1 })
  t.notMatch(JSON.stringify(h.logs), /SECRET|PRIVATE KEY|0123456789abcdef/, 'no key material and no file names in the logs')
  t.same(await readdir(join(root, '.locks')), [])
})
