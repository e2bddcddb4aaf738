import { dnsErrorCode, isNoRecords, withTimeout } from './dns-resolver.js'
import { tlsRptTxtRecord } from '../dns/txt-records.js'
import type { Check, CheckResult, CheckRun } from './types.js'

const ID = 'tlsrpt-txt'
const NAME = 'TLS-RPT TXT record'
const VERSION = 'v=TLSRPTv1'
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/

/** A parsed `v=TLSRPTv1` record: its report URIs (and whether `rua` came first), or why it is invalid. */
export type TlsRptRecordResult = { ok: true; rua: string[]; ruaFirst: boolean } | { ok: false; error: string }

/** Is `uri` a report URI RFC 8460 allows: `mailto:` with an address or an absolute `https:` URL? */
function validUri (uri: string): boolean {
  if (/[\s,!]/.test(uri)) return false
  if (uri.startsWith('mailto:')) return /^mailto:[^@]+@[^@]+\.[^@]+$/.test(uri)
  if (!uri.startsWith('https://')) return false
  try {
    return new URL(uri).hostname !== ''
  } catch {
    return false
  }
}

/**
 * Parse a `_smtp._tls` TXT record by the RFC 8460 section 3 ABNF:
 * `v=TLSRPTv1` then `;`-separated fields (`*WSP ";" *WSP`), exactly one
 * `rua=` with comma-separated `mailto:`/`https:` URIs, extensions allowed.
 */
export function parseTlsRptRecord (record: string): TlsRptRecordResult {
  if (!record.startsWith(VERSION)) return { ok: false, error: `does not start with "${VERSION}"` }
  const parts = record.slice(VERSION.length).split(';')
  if (parts.length < 2 || !/^[ \t]*$/.test(parts[0] as string)) {
    return { ok: false, error: `is not "${VERSION}" followed by ";"-separated fields` }
  }
  const fields = parts.slice(1)
  if (fields.length > 1 && /^[ \t]*$/.test(fields.at(-1) as string)) fields.pop()
  let rua: string[] | undefined
  let ruaFirst = false
  for (const [index, raw] of fields.entries()) {
    const field = raw.replace(/^[ \t]+|[ \t]+$/g, '')
    const eq = field.indexOf('=')
    const name = field.slice(0, eq)
    const value = field.slice(eq + 1)
    if (eq < 1 || !EXT_NAME.test(name)) return { ok: false, error: `has an invalid field "${field}"` }
    if (name !== 'rua') {
      if (!EXT_VALUE.test(value)) return { ok: false, error: `has an invalid field "${field}"` }
      continue
    }
    if (rua) return { ok: false, error: 'has more than one rua field' }
    rua = value.split(/[ \t]*,[ \t]*/)
    ruaFirst = index === 0
    const bad = rua.find(uri => !validUri(uri))
    if (bad !== undefined) return { ok: false, error: `has an invalid report URI "${bad}" (mailto: or https: only)` }
  }
  if (!rua) return { ok: false, error: 'has no rua field' }
  return { ok: true, rua, ruaFirst }
}

const run: CheckRun = async ctx => {
  const { tenant } = ctx
  // Without configured addresses, suggest the usual mailbox.
  const { name, value: expected } = tlsRptTxtRecord(tenant.domain, tenant.rua.length > 0 ? tenant.rua : [`mailto:tlsrpt@${tenant.domain}`])
  const publish = `publish ${name}. TXT "${expected}"`
  const result = (status: CheckResult['status'], reason: string, hint: string | undefined, details: Record<string, unknown>): CheckResult[] =>
    [{ id: ID, name: NAME, status, reason, ...(hint === undefined ? {} : { hint }), details: { name, ...details } }]

  let txt: string[][]
  try {
    txt = await withTimeout(ctx.resolver.resolveTxt(name), ctx.timeoutMs, `TXT ${name}`)
  } catch (err) {
    if (isNoRecords(err)) return result('warn', `no TLS-RPT record at ${name}: senders will not report TLS failures (recommended, not required)`, publish, { error: dnsErrorCode(err) })
    return result('warn', `DNS lookup of ${name} failed (${dnsErrorCode(err)})`, 'check that the domain\'s name servers answer TXT queries', { error: dnsErrorCode(err) })
  }
  const records = txt.map(parts => parts.join(''))
  const rpt = records.filter(r => r.startsWith(VERSION))
  if (rpt.length === 0) return result('warn', `no ${VERSION} record among the ${records.length} TXT record(s) at ${name} (recommended, not required)`, publish, { records })
  if (rpt.length > 1) return result('fail', `${rpt.length} ${VERSION} records at ${name}: senders ignore them all`, `keep only ${name}. TXT "${expected}"`, { records })
  const record = rpt[0] as string
  const parsed = parseTlsRptRecord(record)
  if (!parsed.ok) return result('fail', `the record "${record}" ${parsed.error}`, `replace it: ${publish}`, { records })
  const details = { records, rua: parsed.rua }
  const sorted = (list: readonly string[]): string => [...list].sort().join(',')
  if (tenant.rua.length > 0 && sorted(parsed.rua) !== sorted(tenant.rua)) {
    return result('warn', `published report URIs ${parsed.rua.join(',')} differ from the configured ${tenant.rua.join(',')}`, `update the record: ${publish}`, details)
  }
  if (!parsed.ruaFirst) {
    return result('warn', `rua is not the first field after ${VERSION}: some senders only read it there`, `reorder it: ${name}. TXT "${tlsRptTxtRecord(tenant.domain, parsed.rua).value}"`, details)
  }
  return result('pass', `${name} sends reports to ${parsed.rua.join(',')}`, undefined, details)
}

/**
 * Check `_smtp._tls.<domain>` TXT (RFC 8460): one valid `v=TLSRPTv1` record.
 * Missing is a warning (reporting is recommended, not required); several or
 * invalid records fail; report URIs other than the configured `rua` warn.
 * A failure blocks enforce.
 */
export const tlsrptTxtCheck: Check = Object.freeze({ id: ID, title: NAME, gatesEnforce: 'fail', run })
