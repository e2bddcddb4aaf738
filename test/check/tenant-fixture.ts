import type { Tenant } from '../../src/config/types.js'
import { createResolver } from '../../src/check/dns-resolver.js'
import type { CheckContext } from '../../src/check/types.js'
import { tenantEntry as buildEntry, type TenantEntry } from '../../src/tenants/tenant-snapshot.js'

/** A tenant entry the way the snapshot builds it (example.com, enforce, mx1.example.com unless overridden). */
export function tenantEntry (over: Partial<Tenant> = {}): TenantEntry {
  const domain = over.domain ?? 'example.com'
  return buildEntry({ domain, host: `mta-sts.${domain}`, mode: 'enforce', mx: ['mx1.example.com'], maxAge: 604800, rua: [], ...over })
}

/** A check context on the test DNS server at `dnsAddress`. */
export function checkContext (dnsAddress: string, over: Partial<CheckContext> = {}): CheckContext {
  const timeoutMs = over.timeoutMs ?? 2000
  return {
    tenant: tenantEntry(),
    resolver: createResolver({ servers: [dnsAddress], timeoutMs, tries: 1 }),
    timeoutMs,
    httpsPort: 443,
    smtpPort: 25,
    expiryWarningDays: 14,
    managedCertificates: true,
    now: () => new Date(),
    ...over,
  }
}
