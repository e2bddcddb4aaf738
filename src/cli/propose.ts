import pLimit from 'p-limit'
import { probeContext } from '../check/check-context.js'
import { surveyDomain } from '../check/survey-domain.js'
import { systemClock } from '../clock.js'
import { formatProblem, loadConfig } from '../config/load-config.js'
import { normalizeHostName } from '../domain/host-name.js'
import { buildSnapshot } from '../tenants/tenant-snapshot.js'
import { formatProposal } from './format-proposal.js'
import { proposeTenant } from './tenant-proposal.js'
import type { CommandIo } from './validate.js'

/** Options of `propose`. */
export interface ProposeOptions {
  readonly config: string
  /** Domains to propose entries for (Unicode or A-labels). */
  readonly domains: readonly string[]
  /** DNS servers overriding `check.resolvers`. */
  readonly resolvers?: readonly string[]
}

/** What `propose` made of one domain: text for stdout and stderr, and its exit code. */
interface Outcome {
  readonly out: string
  readonly err: string
  readonly code: number
}

/**
 * `propose --config FILE DOMAIN...`: for each domain, a tenant entry ready to
 * paste under `tenants:` and the DNS records to publish, in order (see
 * {@link proposeTenant} and {@link formatProposal}), looked up through the
 * `check` settings. Returns the exit code: 0 every entry proposed; 1 a domain
 * is a tenant already, or a proposal carries a warning; 2 bad input, an
 * invalid configuration, or a DNS failure (no entry for that domain).
 */
export async function proposeCommand (opts: ProposeOptions, io: CommandIo): Promise<number> {
  const result = await loadConfig(opts.config)
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`error: ${formatProblem(e)}\n`)
    return 2
  }
  const { config } = result
  const tenants = new Map(buildSnapshot(config).tenants.map(t => [t.domain, t]))
  const probe = await probeContext(config.check, systemClock.now, { managedCertificates: config.certificates.issuer !== 'files', resolvers: opts.resolvers })
  const propose = async (input: string): Promise<Outcome> => {
    const name = normalizeHostName(input)
    if (!name.ok) return { out: '', err: `error: "${input}" ${name.reason}: not a domain to propose\n`, code: 2 }
    const domain = name.value
    const tenant = tenants.get(domain)
    if (tenant) {
      return { out: '', err: `note: ${domain} is already a tenant in ${config.file} (mode ${tenant.mode}, id ${tenant.id}): nothing to propose; \`check\` shows its set-up\n`, code: 1 }
    }
    const proposal = proposeTenant(await surveyDomain(probe, domain), config)
    if (!proposal.ok) return { out: '', err: `error: ${domain}: ${proposal.reason}; no entry proposed\n`, code: 2 }
    return {
      out: formatProposal(proposal, { input, target: config.dns.target, configFile: config.file }),
      err: proposal.warnings.map(w => `warn: ${domain}: ${w}\n`).join(''),
      code: proposal.warnings.length > 0 ? 1 : 0,
    }
  }
  const outcomes = await pLimit(Math.max(1, config.check.concurrency)).map(opts.domains, propose)
  io.stdout.write(outcomes.map(o => o.out).filter(o => o !== '').join('\n'))
  io.stderr.write(outcomes.map(o => o.err).join(''))
  return Math.max(0, ...outcomes.map(o => o.code))
}
