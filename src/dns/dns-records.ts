import { isIP } from 'node:net'
import type { TenantEntry } from '../tenants/tenant-snapshot.js'

/** One DNS record an operator publishes for a tenant. */
export interface DnsRecord {
  /** Fully qualified name, without the trailing dot. */
  readonly name: string
  readonly type: 'TXT' | 'CNAME' | 'A' | 'AAAA'
  /** Record data; `null` when the service's address is not configured (`dns.target`). */
  readonly value: string | null
  readonly purpose: string
}

/**
 * The records a tenant needs: `_mta-sts` TXT with the id served now, the
 * `mta-sts` host pointing at this service, and `_smtp._tls` TXT when the
 * tenant has TLS-RPT addresses.
 */
export function dnsRecords (tenant: TenantEntry, target: readonly string[]): DnsRecord[] {
  const records: DnsRecord[] = [
    { name: `_mta-sts.${tenant.domain}`, type: 'TXT', value: `v=STSv1; id=${tenant.id}`, purpose: 'announces the policy; the id changes with every policy edit' },
  ]
  const host = tenant.host
  if (target.length === 0) {
    records.push({ name: host, type: 'CNAME', value: null, purpose: 'point at this service (set dns.target in the configuration)' })
  } else if (target.length === 1 && isIP(target[0] as string) === 0) {
    records.push({ name: host, type: 'CNAME', value: `${target[0] as string}.`, purpose: 'points the policy host at this service' })
  } else {
    for (const address of target) {
      if (isIP(address) === 0) continue
      records.push({ name: host, type: isIP(address) === 6 ? 'AAAA' : 'A', value: address, purpose: 'points the policy host at this service' })
    }
  }
  if (tenant.rua.length > 0) {
    records.push({ name: `_smtp._tls.${tenant.domain}`, type: 'TXT', value: `v=TLSRPTv1; rua=${tenant.rua.join(',')}`, purpose: 'asks senders for daily TLS reports' })
  }
  return records
}

/** TXT data as zone-file strings: quoted, escaped, split into 255-byte chunks. */
export function zoneTxt (value: string): string {
  const chunks: string[] = []
  for (let i = 0; i < value.length; i += 255) chunks.push(value.slice(i, i + 255))
  return chunks.map(c => `"${c.replace(/[\\"]/g, m => `\\${m}`)}"`).join(' ')
}
