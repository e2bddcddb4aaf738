import { X509Certificate } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { FileStore } from '../../src/store/file-store.js'
import { INTERNAL_CA_CERT_KEY } from '../../src/store/keys.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { startCrashProcess } from '../helpers/crash-process.js'
import { tempDir } from '../helpers/service-harness.js'

t.test('the CA is created once, key 0600, and reused by later opens', async t => {
  const dir = await tempDir(t)
  const store = new FileStore(dir)
  const [a, b] = await Promise.all([
    InternalCa.open({ store, clock: systemClock, leafLifetime: 86400 }),
    InternalCa.open({ store, clock: systemClock, leafLifetime: 86400 }),
  ])
  t.equal(a.caPem, b.caPem, 'two concurrent opens agree on one CA (store lock)')
  const c = await InternalCa.open({ store, clock: systemClock, leafLifetime: 86400 })
  t.equal(c.caPem, a.caPem, 'reused after a restart')
  t.equal((await stat(join(dir, 'internal-ca', 'ca.key'))).mode & 0o777, 0o600)
  t.equal((await stat(join(dir, ...INTERNAL_CA_CERT_KEY.split('/')))).mode & 0o777, 0o644)
  const ca = new X509Certificate(a.caPem)
  t.ok(ca.ca, 'is a CA certificate')
  t.match(ca.publicKey.asymmetricKeyDetails, { namedCurve: 'prime256v1' })
})

t.test('killed (kill -9) while holding the internal-ca lock: the next open does not wait for the dead holder', async t => {
  const dir = await tempDir(t)
  const first = await InternalCa.open({ store: new FileStore(dir), clock: systemClock, leafLifetime: 86400 })
  const holder = startCrashProcess(t, ['hold', dir, 'internal-ca'])
  await holder.waitFor(l => l.event === 'locked')
  await holder.kill()
  t.same(await readdir(join(dir, '.locks')), ['internal-ca.lock'], 'the crash left its lock behind')
  // Before owners were recorded, this waited 30 s for the lock and failed (and the service did not start).
  const again = await InternalCa.open({ store: new FileStore(dir), clock: systemClock, leafLifetime: 86400 })
  t.equal(again.caPem, first.caPem, 'the same CA, opened')
  t.same(await readdir(join(dir, '.locks')), [], 'the dead holder\'s lock is gone')
})

t.test('leaf certificates: ECDSA P-256, serverAuth, one SAN, chain included', async t => {
  const dir = await tempDir(t)
  const ca = await InternalCa.open({ store: new FileStore(dir), clock: systemClock, leafLifetime: 3600 })
  const issued = await ca.obtain('mta-sts.example.com')
  const leaf = new X509Certificate(issued.certPem)
  t.equal(leaf.subjectAltName, 'DNS:mta-sts.example.com')
  t.notOk(leaf.ca)
  t.same(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'])
  t.match(leaf.publicKey.asymmetricKeyDetails, { namedCurve: 'prime256v1' })
  t.ok(leaf.verify(new X509Certificate(ca.caPem).publicKey))
  t.equal(issued.certPem.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf and CA')
  const hours = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 3600_000
  t.ok(hours > 1 && hours < 1.1, 'lifetime as configured (plus the back-dating)')
  const second = new X509Certificate((await ca.obtain('mta-sts.example.com')).certPem)
  t.not(second.serialNumber, leaf.serialNumber, 'random serials')
})

t.test('several names, IP addresses as IP SANs', async t => {
  const dir = await tempDir(t)
  const ca = await InternalCa.open({ store: new FileStore(dir), clock: systemClock, leafLifetime: 3600 })
  const issued = await ca.issue(['localhost', '127.0.0.1', '::1'])
  const leaf = new X509Certificate(issued.certPem)
  t.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
  t.ok(leaf.checkIP('127.0.0.1'), 'valid for the address')
  t.ok(leaf.checkHost('localhost'))
  t.match(leaf.subject, 'CN=localhost')
})
