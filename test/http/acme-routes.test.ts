import { PassThrough } from 'node:stream'
import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { buildApp, type AppDeps } from '../../src/http/build-app.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'

const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA'
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`
const PATH = `/.well-known/acme-challenge/${TOKEN}`

async function app (t: { teardown (fn: () => unknown): void }, withLookup = true) {
  const result = parseConfig('tenants:\n  example.com:\n    mx: [mx1.example.com]\n', '/etc/mta-sts/config.yaml')
  if (!result.ok) throw new Error('bad fixture')
  const snapshot = buildSnapshot(result.config)
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  const lookups: string[] = []
  const challenges = new Map([[`mta-sts.example.com ${TOKEN}`, KEY_AUTH]])
  const deps: AppDeps = {
    logger: createLogger('info', stream),
    metrics: createMetrics(() => undefined),
    tenants: () => snapshot,
    readiness: () => ({ ready: true, reasons: [], details: {} }),
    certificates: () => [],
    ...(withLookup
      ? {
          acmeHttpChallenge: async (host: string, token: string) => {
            lookups.push(`${host} ${token}`)
            return challenges.get(`${host} ${token}`)
          },
        }
      : {}),
  }
  const a = await buildApp({ role: 'http' }, deps)
  t.teardown(() => a.close())
  return { app: a, lines, lookups, challenges }
}

t.test('answers a pending HTTP-01 challenge for a tenant host', async t => {
  const { app: a, lines } = await app(t)
  for (const host of ['mta-sts.example.com', 'MTA-STS.example.com:80', 'mta-sts.example.com.']) {
    const res = await a.inject({ url: PATH, headers: { host } })
    t.equal(res.statusCode, 200, host)
    t.equal(res.body, KEY_AUTH)
    t.match(res.headers['content-type'], /^text\/plain/)
    t.equal(res.headers['cache-control'], 'no-store')
  }
  t.match(lines.find(l => l.event === 'acme_challenge_answered'), { type: 'http-01', host: 'mta-sts.example.com' })
  t.notOk(JSON.stringify(lines).includes(KEY_AUTH), 'the key authorization is not logged')
})

t.test('404 for unknown hosts, malformed tokens and missing challenges; malformed input is never looked up', async t => {
  const { app: a, lookups } = await app(t)
  const cases: [string, string, string][] = [
    ['www.example.net', PATH, 'not an mta-sts host'],
    ['mta-sts.-bad-.example', PATH, 'not a host name'],
    ['example.com', PATH, 'the tenant domain itself'],
    ['[::1]', PATH, 'an IPv6 literal'],
    ['mta-sts.example.com', '/.well-known/acme-challenge/short', 'too short'],
    ['mta-sts.example.com', `/.well-known/acme-challenge/${TOKEN}.txt`, 'a dot'],
    ['mta-sts.example.com', `/.well-known/acme-challenge/..%2F..%2F${TOKEN}`, 'encoded traversal'],
    ['mta-sts.example.com', `/.well-known/acme-challenge/${TOKEN}=`, 'padding'],
  ]
  for (const [host, url, label] of cases) {
    const res = await a.inject({ url, headers: { host } })
    t.equal(res.statusCode, 404, label)
    t.equal(res.body, 'Not Found\n', label)
  }
  t.same(lookups, [], 'nothing looked up')
  const missing = await a.inject({ url: `/.well-known/acme-challenge/${'b'.repeat(43)}`, headers: { host: 'mta-sts.example.com' } })
  t.equal(missing.statusCode, 404, 'no such challenge')
  t.same(lookups, [`mta-sts.example.com ${'b'.repeat(43)}`])
  t.equal((await a.inject({ url: '/.well-known/acme-challenge/', headers: { host: 'mta-sts.example.com' } })).statusCode, 404, 'no token')
})

t.test('an mta-sts host this instance does not know yet is answered from the store (a tenant another replica added first)', async t => {
  const { app: a, lookups, challenges } = await app(t)
  t.equal((await a.inject({ url: PATH, headers: { host: 'mta-sts.example.net' } })).statusCode, 404, 'nothing stored for it')
  challenges.set(`mta-sts.example.net ${TOKEN}`, KEY_AUTH)
  const res = await a.inject({ url: PATH, headers: { host: 'mta-sts.example.net' } })
  t.equal(res.statusCode, 200)
  t.equal(res.body, KEY_AUTH)
  t.same(lookups, [`mta-sts.example.net ${TOKEN}`, `mta-sts.example.net ${TOKEN}`])
})

t.test('no challenge route without a lookup (issuer other than acme)', async t => {
  const { app: a } = await app(t, false)
  const res = await a.inject({ url: PATH, headers: { host: 'mta-sts.example.com' } })
  t.equal(res.statusCode, 404)
})
