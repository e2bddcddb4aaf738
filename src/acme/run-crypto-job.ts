import * as acme from 'acme-client'
import type { AcmeCryptoJob, AlpnCertificate } from './acme-crypto.js'

/**
 * Do one {@link AcmeCryptoJob} with acme-client's crypto helpers (node:crypto
 * keys, @peculiar/x509 for the CSR and the challenge certificate): a PEM
 * string, or the key and certificate of a TLS-ALPN-01 answer. The worker
 * thread's program (`crypto-worker-source.ts`) does the same in plain
 * JavaScript; keep the two alike.
 */
export async function runCryptoJob (job: AcmeCryptoJob): Promise<string | AlpnCertificate> {
  switch (job.kind) {
    case 'privateKey':
      return (job.keyType === 'rsa-2048' ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey('P-256')).toString()
    case 'certificateRequest': {
      const [, csr] = await acme.crypto.createCsr({ altNames: [job.host] }, job.keyPem)
      return csr.toString()
    }
    case 'alpnCertificate': {
      const key = await acme.crypto.createPrivateEcdsaKey('P-256')
      const [, cert] = await acme.crypto.createAlpnCertificate({ identifier: { type: 'dns', value: job.host } } as acme.Authorization, job.keyAuthorization, key)
      return { keyPem: key.toString(), certPem: cert.toString() }
    }
  }
}
