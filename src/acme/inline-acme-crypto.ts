import type { AcmeCrypto, AcmeKeyType, AlpnCertificate } from './acme-crypto.js'
import { runCryptoJob } from './run-crypto-job.js'

/** {@link AcmeCrypto} on the calling thread: for tests and tools, not for a serving process. */
export class InlineAcmeCrypto implements AcmeCrypto {
  async privateKey (keyType: AcmeKeyType): Promise<string> {
    return await runCryptoJob({ kind: 'privateKey', keyType }) as string
  }

  async certificateRequest (host: string, keyPem: string): Promise<string> {
    return await runCryptoJob({ kind: 'certificateRequest', host, keyPem }) as string
  }

  async alpnCertificate (host: string, keyAuthorization: string): Promise<AlpnCertificate> {
    return await runCryptoJob({ kind: 'alpnCertificate', host, keyAuthorization }) as AlpnCertificate
  }

  async close (): Promise<void> {}
}
