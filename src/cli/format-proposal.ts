import { dnsRecords, zoneTxt, type DnsRecord } from '../dns/dns-records.js'
import type { TenantProposal } from './tenant-proposal.js'

/** What {@link formatProposal} needs besides the proposal. */
export interface ProposalContext {
  /** The domain as the operator typed it (shown when it differs from the A-labels). */
  readonly input: string
  /** `dns.target`: what `mta-sts.<domain>` points at. */
  readonly target: readonly string[]
  /** The configuration file, for the `check` command to run before the last record. */
  readonly configFile: string
}

const PLACEHOLDER = '<address of this service: set dns.target>'

/** A YAML double-quoted scalar (JSON strings are valid YAML). */
function quoted (value: string): string {
  return JSON.stringify(value)
}

/** A record as a zone-file line without TTL. */
function zoneLine (r: DnsRecord): string {
  if (r.value === null) return `${r.name}.  ${r.type}  ${PLACEHOLDER}`
  return `${r.name}.  ${r.type}  ${r.type === 'TXT' ? zoneTxt(r.value) : r.value}`
}

/**
 * The proposal as text to paste under `tenants:`: the entry indented by two
 * spaces, each choice explained in a comment, then (as comments, so the whole
 * output pastes) the DNS records to publish in order: the `mta-sts` host
 * first, `_smtp._tls` next and the `_mta-sts` TXT, with the id this service
 * will serve for the entry, last.
 */
export function formatProposal (proposal: TenantProposal, ctx: ProposalContext): string {
  const { entry } = proposal
  const domain = entry.domain
  const lines: string[] = []
  const shown = ctx.input.trim().replace(/\.$/, '').toLowerCase() === domain ? domain : `${ctx.input.trim()} (${domain})`
  lines.push(`  # ${shown}: proposed tenant entry, to paste under tenants:`)
  for (const note of proposal.notes) lines.push(`  # ${note}`)
  lines.push(`  ${domain}:`)
  lines.push(`    mode: ${entry.mode}  # ${proposal.modeComment}`)
  lines.push('    mx:')
  for (const p of proposal.patterns) lines.push(`      - ${quoted(p.pattern)}${p.comment === undefined ? '' : `  # ${p.comment}`}`)
  lines.push(`    max_age: ${entry.maxAge}  # ${proposal.maxAgeComment}`)
  if (proposal.rua === undefined) lines.push(`    # ${proposal.ruaComment}`)
  else lines.push(`    rua: [${proposal.rua.map(quoted).join(', ')}]  # ${proposal.ruaComment}`)

  const records = dnsRecords(entry, ctx.target)
  const host = records.filter(r => r.type !== 'TXT')
  const tlsRpt = records.filter(r => r.name.startsWith('_smtp._tls.'))
  const sts = records.filter(r => r.name.startsWith('_mta-sts.'))
  const steps: { records: DnsRecord[]; say: string[] }[] = [
    {
      records: host,
      say: [
        `First: points the policy host at this service${host.some(r => r.value === null) ? ' (set dns.target to print the address)' : ''}; once the entry is loaded, the service serves the policy there and gets its certificate.`,
        `Then wait until \`mta-sts-host check --config ${ctx.configFile} ${domain}\` passes the policy file.`,
      ],
    },
    ...(tlsRpt.length === 0 ? [] : [{ records: tlsRpt, say: ['Asks senders for daily TLS reports to the entry\'s rua (harmless before the policy is served).'] }]),
    {
      records: sts,
      say: [
        'Last: tells senders to fetch the policy; its id is the one this service serves for the entry above.',
        `Published before mta-sts.${domain} serves that policy, senders' fetches would fail.`,
        ...(proposal.keptPolicy ? ['Senders that cached the policy from elsewhere keep it until they see this new id; the entry keeps its mx and mode, so both agree.'] : []),
      ],
    },
  ]
  lines.push(`  # DNS records for ${domain}, to publish in this order:`)
  steps.forEach((step, i) => {
    step.records.forEach((r, j) => lines.push(`  # ${j === 0 ? `${i + 1}.` : '  '} ${zoneLine(r)}`))
    for (const sentence of step.say) lines.push(`  #    ${sentence}`)
  })
  return lines.join('\n') + '\n'
}
