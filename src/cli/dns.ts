import { formatProblem, loadConfig } from '../config/load-config.js'
import { dnsRecords, zoneTxt } from '../dns/dns-records.js'
import { buildSnapshot } from '../tenants/tenant-snapshot.js'
import type { CommandIo } from './validate.js'

/** Output formats of `dns`. */
export type DnsFormat = 'text' | 'zone' | 'json'

/** `dns --config FILE`: the records to publish for every tenant. Returns the exit code. */
export async function dnsCommand (file: string, format: DnsFormat, io: CommandIo): Promise<number> {
  const result = await loadConfig(file)
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`error: ${formatProblem(e)}\n`)
    return 1
  }
  const snapshot = buildSnapshot(result.config)
  const target = result.config.dns.target
  const tenants = snapshot.tenants.map(t => ({ domain: t.domain, mode: t.mode, policy_id: t.id, records: dnsRecords(t, target) }))
  if (format === 'json') {
    io.stdout.write(JSON.stringify({ tenants }, null, 2) + '\n')
    return 0
  }
  for (const tenant of tenants) {
    if (format === 'zone') {
      io.stdout.write(`; ${tenant.domain} (mode ${tenant.mode})\n`)
      for (const r of tenant.records) {
        const data = r.value === null ? null : r.type === 'TXT' ? zoneTxt(r.value) : r.value
        io.stdout.write(data === null ? `; ${r.name}. 3600 IN ${r.type} <address of this service: set dns.target>\n` : `${r.name}. 3600 IN ${r.type} ${data}\n`)
      }
    } else {
      io.stdout.write(`${tenant.domain}  mode=${tenant.mode}  id=${tenant.policy_id}\n`)
      for (const r of tenant.records) io.stdout.write(`  ${r.name}  ${r.type}  ${r.value ?? '<address of this service: set dns.target>'}\n    ${r.purpose}\n`)
    }
    io.stdout.write('\n')
  }
  return 0
}
