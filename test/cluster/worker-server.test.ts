import type { AddressInfo } from 'node:net'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:tls'
import * as acme from 'acme-client'
import t from 'tap'
import { IpcChannel, memoryPortPair } from '../../src/cluster/ipc-channel.js'
import { REQUESTS } from '../../src/cluster/primary-requests.js'
import { NOTICES, READINESS_TIMEOUT_MS, WorkerServer } from '../../src/cluster/worker-server.js'
import { snapshotChunks } from '../../src/cluster/worker-snapshot.js'
import { ACME_TLS_ALPN } from '../../src/acme/tls-alpn-responder.js'
import { createLogger } from '../../src/log.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { configFrom } from '../helpers/config-fixtures.js'

const KEY_AUTH = 'token-1.thumbprint'
const TOKEN = 'abcdefghijklmnopqrstuvwxyz012345'

/** A worker with a stand-in primary that answers what the ACME paths ask. */
async function acmeWorker (t: { teardown (fn: () => unknown): void }, answers: { readiness?: boolean } = {}) {
  const [primaryPort, workerPort] = memoryPortPair()
  const primary = new IpcChannel(primaryPort)
  const asked: string[] = []
  primary.handle(REQUESTS.httpChallenge, p => { const { host, token } = p as { host: string, token: string }; asked.push(`http ${host} ${token}`); return token === TOKEN ? KEY_AUTH : null })
  primary.handle(REQUESTS.tlsAlpnChallenge, host => { asked.push(`alpn ${String(host)}`); return host === 'mta-sts.a.example' ? KEY_AUTH : null })
  if (answers.readiness !== false) primary.handle(REQUESTS.readiness, () => ({ ready: false, reasons: ['some tenant hosts have no usable certificate'], details: {} }))
  const config = configFrom([
    'listen:',
    '  https: { host: "127.0.0.1", port: 0 }',
    '  http: { host: "127.0.0.1", port: 0 }',
    'certificates:',
    '  issuer: acme',
    '  acme: { email: hostmaster@example.net, terms_of_service_agreed: true }',
    'reports: { enabled: false }',
    'tenants:',
    '  a.example: { mode: testing, mx: [mx.a.example] }',
    '',
  ].join('\n'))
  primary.on(NOTICES.hello, () => { for (const chunk of snapshotChunks(1, buildSnapshot(config))) primary.notify(NOTICES.snapshot, chunk) })
  const server = new WorkerServer({ channel: new IpcChannel(workerPort), logger: createLogger('silent') })
  await server.start()
  const addresses = await server.listen(config.listen)
  t.teardown(() => server.close())
  return { server, addresses, asked }
}

function get (address: AddressInfo, path: string, host: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: address.port, path, agent: false, headers: { host } }, res => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('HTTP-01 answers come from the primary', async t => {
  const { addresses, asked } = await acmeWorker(t)
  t.same(await get(addresses.http, `/.well-known/acme-challenge/${TOKEN}`, 'mta-sts.a.example'), { status: 200, body: KEY_AUTH })
  t.equal((await get(addresses.http, `/.well-known/acme-challenge/${TOKEN.replace('a', 'b')}`, 'mta-sts.a.example')).status, 404)
  t.same(asked, [`http mta-sts.a.example ${TOKEN}`, `http mta-sts.a.example ${TOKEN.replace('a', 'b')}`])
})

t.test('TLS-ALPN-01 validation handshakes get the challenge certificate built from the primary\'s answer', async t => {
  const { addresses, asked } = await acmeWorker(t)
  const certPem = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: addresses.https.port, servername: 'mta-sts.a.example', ALPNProtocols: [ACME_TLS_ALPN], rejectUnauthorized: false })
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate().raw
      socket.destroy()
      resolve(`-----BEGIN CERTIFICATE-----\n${raw.toString('base64')}\n-----END CERTIFICATE-----\n`)
    })
    socket.once('error', reject)
  })
  t.ok(acme.crypto.isAlpnCertificateAuthorizationValid(certPem, KEY_AUTH))
  t.same(asked, ['alpn mta-sts.a.example'])
})

t.test('readiness: the primary\'s reasons, or 503 when it does not answer in time', async t => {
  const { addresses } = await acmeWorker(t)
  t.same(await get(addresses.http, '/readyz', 'x'), { status: 503, body: '{"status":"not ready","reasons":["some tenant hosts have no usable certificate"]}' })
  const silent = await acmeWorker(t, { readiness: false })
  const res = await get(silent.addresses.http, '/readyz', 'x')
  t.equal(res.status, 503)
  t.match(res.body, /the primary process does not answer/)
  t.ok(READINESS_TIMEOUT_MS <= 1000)
})

t.test('listen() before start() is a mistake', async t => {
  const server = new WorkerServer({ channel: new IpcChannel(memoryPortPair()[0]), logger: createLogger('silent') })
  await t.rejects(server.listen({ https: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } }), /start\(\) first/)
  t.equal(server.contexts, 0)
  t.equal(server.snapshot, undefined)
  await server.close()
})

t.test('what only the primary does is refused in a worker', async t => {
  const { server } = await acmeWorker(t)
  t.ok(server.snapshot)
  const { notInWorker } = await import('../../src/cluster/worker-server.js')
  await t.rejects(notInWorker(), /only the primary process does this/)
})
