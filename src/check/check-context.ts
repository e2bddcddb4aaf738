import { readFile } from 'node:fs/promises'
import type { CheckSettings } from '../config/types.js'
import type { ReportStore } from '../db/report-store.js'
import type { TenantEntry } from '../tenants/tenant-snapshot.js'
import type { RenewalPlan } from '../tls/certificate-types.js'
import { createResolver } from './dns-resolver.js'
import type { CheckContext, ProbeContext } from './types.js'

/** What the check context factory needs besides the `check` settings. */
export interface CheckContextOptions {
  /** This service issues and renews the tenant hosts' certificates (issuer `acme` or `internal`). */
  readonly managedCertificates: boolean
  /** The certificate manager's renewal plan for a host (`serve` passes its manager's). */
  readonly renewalPlan?: (host: string) => RenewalPlan | undefined
  /** DNS servers overriding the configured ones (the CLI's --resolver). */
  readonly resolvers?: readonly string[]
  /** The report database the TLS reports check reads (`serve` passes its store, the CLI the file it opened). */
  readonly reports?: Pick<ReportStore, 'summarize'>
}

/**
 * Build, once, what every check of every tenant shares (the resolver, the
 * extra CA, what is known about certificates) from the `check` settings;
 * returns the per-tenant context maker.
 */
export async function checkContextFactory (settings: CheckSettings, now: () => Date, opts: CheckContextOptions): Promise<(tenant: TenantEntry) => CheckContext> {
  const probe = await probeContext(settings, now, opts)
  return tenant => ({ tenant, ...probe })
}

/**
 * The part of every check context that does not depend on the tenant, from
 * the `check` settings: what `check` and `propose` use to look at a domain
 * that is not a tenant (yet).
 */
export async function probeContext (settings: CheckSettings, now: () => Date, opts: CheckContextOptions): Promise<ProbeContext> {
  const resolver = createResolver({ servers: [...(opts.resolvers ?? settings.resolvers)], timeoutMs: settings.timeoutMs })
  const ca = settings.caFile === undefined ? undefined : await readFile(settings.caFile, 'utf8')
  return {
    resolver,
    timeoutMs: settings.timeoutMs,
    httpsPort: settings.httpsPort,
    smtpPort: settings.smtpPort,
    ...(ca === undefined ? {} : { ca }),
    expiryWarningDays: settings.expiryWarningDays,
    managedCertificates: opts.managedCertificates,
    ...(opts.renewalPlan === undefined ? {} : { renewalPlan: opts.renewalPlan }),
    ...(opts.reports === undefined ? {} : { reports: opts.reports }),
    now,
  }
}
