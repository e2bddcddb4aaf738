import { dnsErrorCode, isNoRecords, withTimeout } from './dns-resolver.js'
import { stsTxtRecord } from '../dns/txt-records.js'
import type { Check, CheckResult, CheckRun } from './types.js'

const ID = 'sts-txt'
const NAME = 'MTA-STS TXT record'

// RFC 8461 section 3.1: sts-version 1*(*WSP ";" *WSP sts-field) [";"]
const FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})=([\x21-\x3a\x3c\x3e-\x7e]+)$/
const STS_ID = /^[A-Za-z0-9]{1,32}$/

/** The result of parsing one `v=STSv1` record: its id, or why it is invalid. */
export type StsRecordResult = { ok: true; id: string } | { ok: false; error: string }

/** Parse a `_mta-sts` TXT record by the RFC 8461 section 3.1 ABNF (the record must start `v=STSv1`). */
export function parseStsRecord (record: string): StsRecordResult {
  const match = /^v=STSv1((?:[ \t]*;[ \t]*[^; \t]+)+);?$/.exec(record)
  if (!match) return { ok: false, error: 'is not "v=STSv1" followed by ";"-separated fields (no spaces around "=", no trailing space)' }
  const fields = (match[1] as string).split(';').slice(1).map(f => f.trim())
  const ids: string[] = []
  for (const field of fields) {
    const parsed = FIELD.exec(field)
    if (!parsed) return { ok: false, error: `has an invalid field "${field}"` }
    if (parsed[1] === 'id') ids.push(parsed[2] as string)
  }
  if (ids.length === 0) return { ok: false, error: 'has no id field' }
  if (ids.length > 1) return { ok: false, error: 'has more than one id field' }
  const id = ids[0] as string
  if (!STS_ID.test(id)) return { ok: false, error: `has an invalid id "${id}" (1-32 letters and digits)` }
  return { ok: true, id }
}

const run: CheckRun = async ctx => {
  const { tenant } = ctx
  const { name, value: expected } = stsTxtRecord(tenant.domain, tenant.id)
  const publish = `publish ${name}. TXT "${expected}"`
  const result = (status: CheckResult['status'], reason: string, hint: string | undefined, details: Record<string, unknown>): CheckResult[] =>
    [{ id: ID, name: NAME, status, reason, ...(hint === undefined ? {} : { hint }), details: { name, expected, ...details } }]

  let txt: string[][]
  try {
    txt = await withTimeout(ctx.resolver.resolveTxt(name), ctx.timeoutMs, `TXT ${name}`)
  } catch (err) {
    if (isNoRecords(err)) return result('fail', `no _mta-sts TXT record at ${name}`, publish, { error: dnsErrorCode(err) })
    return result('fail', `DNS lookup of ${name} failed (${dnsErrorCode(err)})`, 'check that the domain\'s name servers answer TXT queries', { error: dnsErrorCode(err) })
  }
  const records = txt.map(parts => parts.join(''))
  const sts = records.filter(r => r.startsWith('v=STSv1'))
  if (sts.length === 0) return result('fail', `no v=STSv1 record among the ${records.length} TXT record(s) at ${name}`, publish, { records })
  if (sts.length > 1) {
    return result('fail', `${sts.length} v=STSv1 records at ${name}: senders see no policy when there is more than one`, `keep only ${name}. TXT "${expected}"`, { records })
  }
  const record = sts[0] as string
  const parsed = parseStsRecord(record)
  if (!parsed.ok) return result('fail', `the record "${record}" ${parsed.error}`, `replace it: ${publish}`, { records })
  if (parsed.id !== tenant.id) {
    return result('fail', `published id ${parsed.id} differs from the served id ${tenant.id}: senders will not refetch the policy`, `update the record: ${publish}`, { records, published: parsed.id })
  }
  return result('pass', `${name} publishes id ${parsed.id}, the served policy's id`, undefined, { records, published: parsed.id })
}

/**
 * Check `_mta-sts.<domain>` TXT: exactly one record starting `v=STSv1`, valid
 * by the RFC grammar, whose id is the one this service derives from the
 * served policy (otherwise senders never refetch it). Other TXT records are
 * ignored. A failure blocks enforce.
 */
export const stsTxtCheck: Check = Object.freeze({ id: ID, title: NAME, gatesEnforce: 'fail', run })
