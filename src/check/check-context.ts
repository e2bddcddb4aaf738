import { readFile } from 'node:fs/promises'
import type { CheckSettings } from '../config/types.js'
import type { TenantEntry } from '../tenants/tenant-snapshot.js'
import { createResolver } from './dns-resolver.js'
import type { CheckContext } from './types.js'

/**
 * Build, once, what every check of every tenant shares (the resolver, the
 * extra CA) from the `check` settings; returns the per-tenant context maker.
 * `resolvers` overrides the configured DNS servers (the CLI's --resolver).
 */
export async function checkContextFactory (settings: CheckSettings, now: () => Date, resolvers?: readonly string[]): Promise<(tenant: TenantEntry) => CheckContext> {
  const resolver = createResolver({ servers: [...(resolvers ?? settings.resolvers)], timeoutMs: settings.timeoutMs })
  const ca = settings.caFile === undefined ? undefined : await readFile(settings.caFile, 'utf8')
  return tenant => ({
    tenant,
    resolver,
    timeoutMs: settings.timeoutMs,
    httpsPort: settings.httpsPort,
    smtpPort: settings.smtpPort,
    ...(ca === undefined ? {} : { ca }),
    expiryWarningDays: settings.expiryWarningDays,
    now,
  })
}
