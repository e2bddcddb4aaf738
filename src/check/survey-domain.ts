import { stsTxtRecord, tlsRptTxtRecord } from '../dns/txt-records.js'
import { fetchDomainPolicy, type DomainPolicy } from './fetch-domain-policy.js'
import { lookupVersionedTxt, type VersionedTxt } from './lookup-versioned-txt.js'
import { lookupDomainMx, type MxLookup } from './mx-lookup.js'
import { parseStsRecord } from './sts-txt-check.js'
import { parseTlsRptRecord } from './tlsrpt-txt-check.js'
import type { ProbeContext } from './types.js'

/** A TXT record of the domain that failed to parse (`kind: 'invalid'`), or the lookup's outcome. */
type Unusable = Exclude<VersionedTxt, { kind: 'one' }> | { readonly kind: 'invalid'; readonly name: string; readonly reason: string; readonly records: readonly string[] }

/** The `_mta-sts` TXT record: its id when exactly one valid record is published. */
export type StsTxtFinding = { readonly kind: 'published'; readonly name: string; readonly id: string; readonly records: readonly string[] } | Unusable

/** The `_smtp._tls` TXT record: its report URIs when exactly one valid record is published. */
export type TlsRptTxtFinding = { readonly kind: 'published'; readonly name: string; readonly rua: readonly string[]; readonly records: readonly string[] } | Unusable

/** What a domain publishes for MTA-STS today, wherever it is hosted. */
export interface DomainSurvey {
  /** A-labels, no trailing dot. */
  readonly domain: string
  readonly stsTxt: StsTxtFinding
  readonly policy: DomainPolicy
  readonly mx: MxLookup
  readonly tlsRptTxt: TlsRptTxtFinding
}

/**
 * Look at a domain (tenant or not, `domain` in A-labels) the way a sender
 * does, all lookups in parallel and each bounded by the context's timeout:
 * its `_mta-sts` TXT, the policy served at `mta-sts.<domain>`, its MX records
 * and its `_smtp._tls` TXT. Never rejects: failures are findings.
 */
export async function surveyDomain (ctx: ProbeContext, domain: string): Promise<DomainSurvey> {
  const [sts, policy, mx, rpt] = await Promise.all([
    lookupVersionedTxt(ctx, stsTxtRecord(domain, '').name, 'v=STSv1'),
    fetchDomainPolicy(ctx, domain),
    lookupDomainMx(ctx, domain),
    lookupVersionedTxt(ctx, tlsRptTxtRecord(domain, []).name, 'v=TLSRPTv1'),
  ])
  return { domain, stsTxt: stsFinding(sts), policy, mx, tlsRptTxt: tlsRptFinding(rpt) }
}

function stsFinding (txt: VersionedTxt): StsTxtFinding {
  if (txt.kind !== 'one') return txt
  const parsed = parseStsRecord(txt.record)
  return parsed.ok
    ? { kind: 'published', name: txt.name, id: parsed.id, records: txt.records }
    : { kind: 'invalid', name: txt.name, reason: `the record "${txt.record}" ${parsed.error}`, records: txt.records }
}

function tlsRptFinding (txt: VersionedTxt): TlsRptTxtFinding {
  if (txt.kind !== 'one') return txt
  const parsed = parseTlsRptRecord(txt.record)
  return parsed.ok
    ? { kind: 'published', name: txt.name, rua: parsed.rua, records: txt.records }
    : { kind: 'invalid', name: txt.name, reason: `the record "${txt.record}" ${parsed.error}`, records: txt.records }
}
