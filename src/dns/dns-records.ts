import { isIP } from 'node:net'
import type { TenantEntry } from '../tenants/tenant-snapshot.js'
import { stsTxtRecord, tlsRptTxtRecord, type TxtRecord } from './txt-records.js'

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
    txt(stsTxtRecord(tenant.domain, tenant.id), 'announces the policy; the id changes with every policy edit'),
  ]
  const host = tenant.host
  if (target.length === 0) {
    records.push({ name: host, type: 'CNAME', value: null, purpose: 'point at this service (set dns.target in the configuration)' })
  } else if (target.some(t => isIP(t) === 0)) {
    // A CNAME stands alone: configuration validation allows exactly one host name here.
    const name = target.find(t => isIP(t) === 0) as string
    records.push({ name: host, type: 'CNAME', value: `${name}.`, purpose: 'points the policy host at this service' })
  } else {
    for (const address of target) {
      records.push({ name: host, type: isIP(address) === 6 ? 'AAAA' : 'A', value: address, purpose: 'points the policy host at this service' })
    }
  }
  if (tenant.rua.length > 0) {
    records.push(txt(tlsRptTxtRecord(tenant.domain, tenant.rua), 'asks senders for daily TLS reports'))
  }
  return records
}

/** A TXT record as {@link dnsRecords} lists it (key order as in `dns --format json`). */
function txt (record: TxtRecord, purpose: string): DnsRecord {
  return { name: record.name, type: 'TXT', value: record.value, purpose }
}

/** TXT data as zone-file strings: quoted, escaped, split into strings of at most 255 bytes (UTF-8, never inside a character). */
export function zoneTxt (value: string): string {
  const chunks: string[] = []
  let current = ''
  let bytes = 0
  for (const char of value) {
    const size = Buffer.byteLength(char, 'utf8')
    if (bytes + size > 255) {
      chunks.push(current)
      current = ''
      bytes = 0
    }
    current += char
    bytes += size
  }
  if (current !== '' || chunks.length === 0) chunks.push(current)
  return chunks.map(c => `"${c.replace(/[\\"]/g, m => `\\${m}`)}"`).join(' ')
}
