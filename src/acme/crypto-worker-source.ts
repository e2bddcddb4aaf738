/**
 * The program of {@link WorkerAcmeCrypto}'s worker thread, as plain
 * JavaScript run with `eval: true`: a worker started from a TypeScript file
 * pays for the TypeScript loader first (seconds in tests, before the first
 * TLS-ALPN-01 answer can be made), plain JavaScript starts in about 0.1 s.
 * It does what {@link runCryptoJob} does, with acme-client's helpers (the
 * contract tests run both). `workerData.acmeClient` is the resolved path of
 * acme-client, so the worker does not depend on the working directory.
 *
 * On Linux the thread lowers its own CPU priority to `workerData.nice` (Linux
 * keeps a nice value per thread), so under a CPU-bound burst of policy
 * fetches this work waits rather than slows serving; elsewhere the call
 * would lower the whole process, so it is not made.
 *
 * Jobs run concurrently; each answer carries its call's id. Errors go back as
 * their message only, never the job (which may hold a private key).
 */
export const CRYPTO_WORKER_SOURCE = `
'use strict'
const { parentPort, workerData } = require('node:worker_threads')
const acme = require(workerData.acmeClient)
if (process.platform === 'linux' && workerData.nice > 0) {
  try { require('node:os').setPriority(0, workerData.nice) } catch {}
}

async function run (job) {
  switch (job.kind) {
    case 'privateKey':
      return (job.keyType === 'rsa-2048' ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey('P-256')).toString()
    case 'certificateRequest': {
      const [, csr] = await acme.crypto.createCsr({ altNames: [job.host] }, job.keyPem)
      return csr.toString()
    }
    case 'alpnCertificate': {
      const key = await acme.crypto.createPrivateEcdsaKey('P-256')
      const [, cert] = await acme.crypto.createAlpnCertificate({ identifier: { type: 'dns', value: job.host } }, job.keyAuthorization, key)
      return { keyPem: key.toString(), certPem: cert.toString() }
    }
    default:
      throw new Error('unknown job ' + String(job.kind))
  }
}

parentPort.on('message', call => {
  run(call.job).then(
    result => { parentPort.postMessage({ id: call.id, result }) },
    error => { parentPort.postMessage({ id: call.id, error: error instanceof Error ? error.message : String(error) }) },
  )
})
`
