import { parentPort } from 'node:worker_threads'
import type { AcmeCryptoJob } from './acme-crypto.js'
import { runCryptoJob } from './run-crypto-job.js'

// Worker entry of WorkerAcmeCrypto: keys, CSRs and TLS-ALPN-01 certificates are built here,
// so their ASN.1 work (asn1js, tens of milliseconds each) never holds up policy serving.
// Jobs run concurrently; each answer carries its call's id. Errors go back as their message
// only (never the job, which may hold a private key).
const port = parentPort as NonNullable<typeof parentPort>
port.on('message', (call: { id: number, job: AcmeCryptoJob }) => {
  runCryptoJob(call.job).then(
    result => { port.postMessage({ id: call.id, result }) },
    (error: unknown) => { port.postMessage({ id: call.id, error: error instanceof Error ? error.message : String(error) }) },
  )
})
