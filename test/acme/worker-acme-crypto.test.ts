import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import * as acme from 'acme-client'
import t from 'tap'
import type { AcmeCrypto } from '../../src/acme/acme-crypto.js'
import { InlineAcmeCrypto } from '../../src/acme/inline-acme-crypto.js'
import { CRYPTO_THREAD_NICE, WorkerAcmeCrypto } from '../../src/acme/worker-acme-crypto.js'
import { readdirSync, readFileSync } from 'node:fs'
import { CRYPTO_WORKER_SOURCE } from '../../src/acme/crypto-worker-source.js'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

const HOST = 'mta-sts.example.com'
const KEY_AUTH = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI'

/** `openssl req -verify -text` of a CSR: the signature checks out, and the text to look at. */
function opensslCsr (csrPem: string): string {
  return execFileSync('openssl', ['req', '-verify', '-noout', '-text'], { input: csrPem, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
}

/** The public key of a CSR, as openssl reads it. */
function csrPublicKey (csrPem: string): string {
  return createPublicKey(execFileSync('openssl', ['req', '-noout', '-pubkey'], { input: csrPem, encoding: 'utf8' })).export({ type: 'spki', format: 'pem' }).toString()
}

const implementations: Array<[string, () => AcmeCrypto]> = [
  ['WorkerAcmeCrypto', () => new WorkerAcmeCrypto()],
  ['InlineAcmeCrypto', () => new InlineAcmeCrypto()],
]

for (const [name, make] of implementations) {
  t.test(name, async t => {
    const crypto = make()
    t.teardown(() => crypto.close())

    t.test('private keys of both key types', async t => {
      const ec = createPrivateKey(await crypto.privateKey('ecdsa-p256'))
      t.equal(ec.asymmetricKeyType, 'ec')
      t.equal(ec.asymmetricKeyDetails?.namedCurve, 'prime256v1')
      const rsa = createPrivateKey(await crypto.privateKey('rsa-2048'))
      t.equal(rsa.asymmetricKeyType, 'rsa')
      t.equal(rsa.asymmetricKeyDetails?.modulusLength, 2048)
    })

    t.test('a CSR for the host, signed with the given key (checked by openssl)', async t => {
      for (const keyType of ['ecdsa-p256', 'rsa-2048'] as const) {
        const keyPem = await crypto.privateKey(keyType)
        const csr = await crypto.certificateRequest(HOST, keyPem)
        t.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----/)
        const text = opensslCsr(csr)
        t.match(text, `DNS:${HOST}`, `${keyType}: the host as subjectAltName`)
        t.equal(csrPublicKey(csr), createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString(), `${keyType}: the key's public half`)
        t.same(acme.crypto.readCsrDomains(csr), { commonName: null, altNames: [HOST] })
      }
    })

    t.test('a TLS-ALPN-01 certificate: self-signed, the host, the acmeIdentifier of the key authorization', async t => {
      const [a, b] = await Promise.all([crypto.alpnCertificate(HOST, KEY_AUTH), crypto.alpnCertificate(HOST, `${KEY_AUTH}2`)])
      const cert = new X509Certificate(a.certPem)
      t.equal(cert.subjectAltName, `DNS:${HOST}`)
      t.ok(cert.verify(cert.publicKey), 'self-signed')
      t.ok(cert.checkPrivateKey(createPrivateKey(a.keyPem)), 'with the key handed back')
      t.ok(acme.crypto.isAlpnCertificateAuthorizationValid(a.certPem, KEY_AUTH))
      t.notOk(acme.crypto.isAlpnCertificateAuthorizationValid(a.certPem, `${KEY_AUTH}2`))
      t.ok(acme.crypto.isAlpnCertificateAuthorizationValid(b.certPem, `${KEY_AUTH}2`), 'concurrent jobs get their own answers')
      t.not(a.keyPem, b.keyPem, 'a new key each time')
    })

    t.test('a failing job rejects with its message; the next one works', async t => {
      await t.rejects(crypto.certificateRequest(HOST, 'not a key'), Error)
      t.match(await crypto.certificateRequest(HOST, await crypto.privateKey('ecdsa-p256')), /CERTIFICATE REQUEST/)
    })

    t.test('closed: calls fail', async t => {
      await crypto.close()
      if (crypto instanceof WorkerAcmeCrypto) await t.rejects(crypto.privateKey('ecdsa-p256'), /closed/)
      await crypto.close()
    })
  })
}

t.test('a worker that exits rejects the calls in flight; the next call starts a new one', async t => {
  const crypto = new WorkerAcmeCrypto('process.exit(3)')
  t.teardown(() => crypto.close())
  await t.rejects(crypto.privateKey('ecdsa-p256'), /the ACME crypto worker stopped: exit code 3/)
  await t.rejects(crypto.alpnCertificate(HOST, KEY_AUTH), /the ACME crypto worker stopped: exit code 3/, 'again')
})

t.test('a worker that throws rejects the calls in flight with its error', async t => {
  const crypto = new WorkerAcmeCrypto('throw new Error("no crypto here")')
  t.teardown(() => crypto.close())
  await t.rejects(crypto.privateKey('ecdsa-p256'), /the ACME crypto worker stopped: no crypto here/)
})

t.test("the worker's program refuses a job it does not know, by message", async t => {
  // WorkerAcmeCrypto posts only known jobs: post one by hand, as it does.
  const worker = new Worker(CRYPTO_WORKER_SOURCE, { eval: true, workerData: { acmeClient: createRequire(import.meta.url).resolve('acme-client') } })
  t.teardown(() => worker.terminate())
  const reply = new Promise(resolve => worker.once('message', resolve))
  worker.postMessage({ id: 7, job: { kind: 'mine' } })
  t.same(await reply, { id: 7, error: 'unknown job mine' })
})

t.test('close() rejects the calls in flight', async t => {
  const crypto = new WorkerAcmeCrypto('setInterval(() => {}, 1000)')
  const call = t.rejects(crypto.privateKey('ecdsa-p256'), /the ACME crypto worker stopped: closed/)
  await crypto.close()
  await call
})

t.test('on Linux the worker thread runs at the lower priority CRYPTO_THREAD_NICE; the main thread keeps its own', { skip: process.platform !== 'linux' ? 'per-thread nice values are Linux\'s' : false }, async t => {
  /** The nice value (field 19 of /proc/self/task/TID/stat) of each thread of this process. */
  const niceOfThreads = (): Map<number, number> => new Map(readdirSync('/proc/self/task').map(tid => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    return [Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])]
  }))
  const mainNice = niceOfThreads().get(process.pid)
  const before = new Set(niceOfThreads().keys())
  const crypto = new WorkerAcmeCrypto()
  t.teardown(() => crypto.close())
  await crypto.privateKey('ecdsa-p256')
  const added = [...niceOfThreads()].filter(([tid]) => !before.has(tid))
  t.ok(added.some(([, nice]) => nice === CRYPTO_THREAD_NICE), `a new thread at nice ${CRYPTO_THREAD_NICE}: ${JSON.stringify(added)}`)
  t.equal(niceOfThreads().get(process.pid), mainNice, 'the main thread is not lowered')
})
