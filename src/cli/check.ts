import { allChecks } from '../check/all-checks.js'
import { checkDomain, checkDomains } from '../check/check-domain.js'
import { probeContext } from '../check/check-context.js'
import { exitCode, formatJson, formatTable } from '../check/format-report.js'
import { onboardingReport } from '../check/onboarding-report.js'
import { formatProblem, loadConfig } from '../config/load-config.js'
import { defaultRua } from '../config/own-rua.js'
import { openCliReportStore, reportDatabaseName } from './open-cli-report-store.js'
import { normalizeHostName } from '../domain/host-name.js'
import { buildSnapshot, type TenantEntry } from '../tenants/tenant-snapshot.js'
import type { CommandIo } from './validate.js'

/** Options of `check`. */
export interface CheckOptions {
  readonly config: string
  /** Domains to check, tenants or not (a non-tenant is looked at as hosted today); all tenants when empty. */
  readonly domains: readonly string[]
  readonly json?: boolean
  /** DNS servers overriding `check.resolvers`. */
  readonly resolvers?: readonly string[]
  /** Colour the table (the CLI passes whether stdout is a terminal). */
  readonly colour?: boolean
}

/**
 * `check --config FILE [DOMAIN...]`: check each tenant's whole MTA-STS set-up
 * the way a sender would, weigh the TLS reports senders sent (when a report
 * database exists) and say whether it is safe to enforce. A domain that is
 * not a tenant gets its set-up as hosted today and what moving it here means
 * ({@link onboardingReport}). Returns the exit code: 0 all pass, 1 worst is a
 * warning, 2 any failure (or bad input).
 */
export async function checkCommand (opts: CheckOptions, io: CommandIo): Promise<number> {
  const result = await loadConfig(opts.config)
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`error: ${formatProblem(e)}\n`)
    return 2
  }
  const { config } = result
  const snapshot = buildSnapshot(config)
  const byDomain = new Map(snapshot.tenants.map(t => [t.domain, t]))
  const wanted: (TenantEntry | string)[] = opts.domains.length === 0 ? [...snapshot.tenants] : []
  for (const name of opts.domains) {
    const domain = normalizeHostName(name)
    if (!domain.ok) {
      io.stderr.write(`error: "${name}" ${domain.reason}: not a domain to check\n`)
      return 2
    }
    // A domain that is not a tenant is looked at as it is hosted today, with what moving it here means.
    wanted.push(byDomain.get(domain.value) ?? domain.value)
  }
  let opened
  try {
    opened = config.reports.enabled ? await openCliReportStore(config, { create: false }) : undefined
  } catch (error) {
    io.stderr.write(`error: cannot read the report database ${reportDatabaseName(config)}: ${(error as Error).message}\n`)
    return 2
  }
  const reportStore = opened?.value
  if (config.reports.enabled && reportStore === undefined) {
    io.stderr.write(`warn: no report database at ${config.reports.database}: the TLS reports check is skipped\n`)
  }
  try {
    // Without the serving process's manager, a managed certificate's renewal point is computed from
    // the certificate presented (a third of its lifetime left), as the manager computes it.
    const probe = await probeContext(config.check, () => new Date(), {
      managedCertificates: config.certificates.issuer !== 'files',
      resolvers: opts.resolvers,
      ...(reportStore === undefined ? {} : { reports: reportStore }),
    })
    const checks = allChecks(config.reports, reportStore !== undefined)
    const reports = await checkDomains(wanted, item => typeof item === 'string'
      ? onboardingReport(probe, item, { rua: defaultRua(config, item) })
      : checkDomain({ ...probe, tenant: item }, checks), config.check.concurrency)
    io.stdout.write(opts.json ? formatJson(reports) : formatTable(reports, opts.colour ?? false))
    return exitCode(reports)
  } finally {
    await opened?.close()
  }
}
