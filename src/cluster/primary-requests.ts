import type { Readiness } from '../http/health-routes.js'
import type { Service } from '../service.js'
import type { FetchBatch } from '../stats/types.js'
import { httpChallengeKey, tlsAlpnChallengeKey } from '../store/keys.js'
import { hostKey } from '../domain/host-name.js'
import type { IpcChannel } from './ipc-channel.js'
import type { CertificateMaterial } from './worker-contexts.js'

/** A TLS report upload as a worker forwards it. */
export interface ReportUpload {
  readonly bytes: Uint8Array
  readonly source: string
  readonly label: string
}

/** What the primary answers to a forwarded upload: what the report route needs to answer the sender. */
export interface UploadOutcome {
  readonly status: 'stored' | 'duplicate' | 'invalid'
  readonly error?: string
}

/** The requests workers make, by type. */
export const REQUESTS = Object.freeze({
  certificate: 'certificate',
  httpChallenge: 'acme-http-challenge',
  tlsAlpnChallenge: 'acme-tls-alpn-challenge',
  readiness: 'readiness',
  report: 'report',
  fetchStats: 'fetch-stats',
} as const)

/**
 * Answer a worker's requests on `channel` from the primary's `service`:
 * certificates of served hosts (loaded or issued by the certificate manager),
 * ACME challenge answers (read from the store), readiness, TLS report uploads
 * (into the counted report sink) and fetch statistics (merged into the next flush).
 */
export function answerWorker (channel: IpcChannel, service: Pick<Service, 'holder' | 'certificates' | 'store' | 'readiness' | 'reportSink' | 'stats'>): void {
  channel.handle(REQUESTS.certificate, async (payload): Promise<CertificateMaterial> => {
    const host = hostKey(String(payload))
    // Workers refuse unknown names themselves; a late request for a host just removed is refused here.
    if (!service.holder.snapshot.byHost.has(host)) throw new Error(`${host} is not served`)
    const cert = await service.certificates.material(host)
    return { certPem: cert.certPem, keyPem: cert.keyPem, notAfter: cert.notAfter.toISOString() }
  })
  channel.handle(REQUESTS.httpChallenge, async (payload) => {
    const { host, token } = payload as { host: string, token: string }
    return (await service.store.get(httpChallengeKey(host, token)))?.toString('utf8') ?? null
  })
  channel.handle(REQUESTS.tlsAlpnChallenge, async (payload) => {
    return (await service.store.get(tlsAlpnChallengeKey(hostKey(String(payload)))))?.toString('utf8') ?? null
  })
  channel.handle(REQUESTS.readiness, (): Readiness => {
    const { ready, reasons } = service.readiness()
    return { ready, reasons, details: {} }
  })
  channel.handle(REQUESTS.report, async (payload): Promise<UploadOutcome> => {
    const sink = service.reportSink
    if (sink === undefined) throw new Error('reports are not enabled')
    const upload = payload as ReportUpload
    const outcome = await sink.submit({ bytes: Buffer.from(upload.bytes), transport: 'https', source: upload.source, label: upload.label })
    return { status: outcome.status, ...(outcome.error === undefined ? {} : { error: outcome.error }) }
  })
  channel.handle(REQUESTS.fetchStats, (payload) => {
    service.stats?.merge(payload as FetchBatch)
    return true
  })
}
