import { formatProblem, loadConfig } from '../config/load-config.js'
import { dnsRecords, zoneTxt } from '../dns/dns-records.js'
import { buildSnapshot } from '../tenants/tenant-snapshot.js'
import { emptySnapshot, Retirements } from '../tenants/retirements.js'
import { MemoryStore } from '../store/memory-store.js'
import { openCliStore } from './open-cli-report-store.js'
import { createLogger } from '../log.js'
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
  const configured = buildSnapshot(result.config)
  const target = result.config.dns.target
  // Retiring tenants are kept in the certificate store (the files, or PostgreSQL with `database`);
  // applied the way the service applies them at start. Store unreachable: none shown.
  const opened = await openCliStore(result.config).catch(() => undefined)
  const retirements = new Retirements(opened?.value ?? new MemoryStore(), createLogger('silent'))
  await retirements.load().catch(() => undefined)
  await opened?.close()
  const noChange = { added: [], removed: [], changed: [], hosts: { added: [], removed: [] } }
  const served = (await retirements.apply(configured, noChange, emptySnapshot(configured), new Date())).snapshot.tenants
  const tenants = served.map(t => ({
    domain: t.domain,
    mode: t.mode,
    policy_id: t.id,
    ...(t.retiring === undefined ? {} : { retiring_until: t.retiring.until }),
    records: dnsRecords(t, target),
  }))
  if (format === 'json') {
    io.stdout.write(JSON.stringify({ tenants }, null, 2) + '\n')
    return 0
  }
  for (const tenant of tenants) {
    if (format === 'zone') {
      io.stdout.write(`; ${tenant.domain} (mode ${tenant.mode}${tenant.retiring_until === undefined ? '' : `, retiring until ${tenant.retiring_until}: then remove these records`})\n`)
      for (const r of tenant.records) {
        const data = r.value === null ? null : r.type === 'TXT' ? zoneTxt(r.value) : r.value
        io.stdout.write(data === null ? `; ${r.name}. 3600 IN ${r.type} <address of this service: set dns.target>\n` : `${r.name}. 3600 IN ${r.type} ${data}\n`)
      }
    } else {
      io.stdout.write(`${tenant.domain}  mode=${tenant.mode}  id=${tenant.policy_id}${tenant.retiring_until === undefined ? '' : `  retiring until ${tenant.retiring_until}: then remove these records`}\n`)
      for (const r of tenant.records) io.stdout.write(`  ${r.name}  ${r.type}  ${r.value ?? '<address of this service: set dns.target>'}\n    ${r.purpose}\n`)
    }
    io.stdout.write('\n')
  }
  return 0
}
