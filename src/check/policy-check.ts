import { request, type RequestOptions } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { rootCertificates, type TLSSocket } from 'node:tls'
import { policyCertificateExpiry } from './policy-certificate-expiry.js'
import { parsePolicy } from './policy-parse.js'
import { policyResponseProblem } from './policy-response-problem.js'
import { resolvePolicyHost } from './resolve-policy-host.js'
import type { Check, CheckResult, CheckRun } from './types.js'

const ID = 'policy'
const NAME = 'Policy file'
const PATH = '/.well-known/mta-sts.txt'
/** Postfix's resolver and mox stop at 64 KiB. */
export const MAX_POLICY_BYTES = 64 * 1024

/** What one HTTPS GET of the policy gave: a response read in full, or why there is none. */
export type PolicyFetch =
  | { ok: true; status: number; location?: string; contentType?: string; body: Buffer; tlsVersion: string; certIssued: Date; certExpires: Date; certFingerprint: string; certNames: string | undefined }
  | { ok: false; kind: 'timeout' | 'too-large' | 'tls' | 'connect'; code: string; message: string }

/** Options of {@link fetchPolicy}. */
export interface FetchPolicyOptions {
  readonly address: string
  readonly port: number
  /** `mta-sts.<domain>`: SNI, certificate name and Host header. */
  readonly host: string
  /** Extra trusted CA (PEM) besides the public roots. */
  readonly ca?: string
  /** Limit for the whole fetch: connect, handshake, request and body. */
  readonly timeoutMs: number
}

function isCertificateError (code: string): boolean {
  return /CERT|SIGNATURE|ALTNAME|ISSUER/.test(code)
}

/**
 * GET the policy the way a sender does: connect to `address`, TLS 1.2+ with
 * SNI `host`, verify the chain against the public roots (plus `ca`) and the
 * name, send `Host: host`, follow no redirect, stop past 64 KiB, and give up
 * after `timeoutMs` in all.
 */
export function fetchPolicy (opts: FetchPolicyOptions): Promise<PolicyFetch> {
  return new Promise(resolve => {
    let settled = false
    const finish = (result: PolicyFetch): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(result)
      req.destroy()
    }
    const options: RequestOptions = {
      host: opts.address,
      port: opts.port,
      path: PATH,
      method: 'GET',
      servername: opts.host,
      headers: { host: opts.host, 'user-agent': 'mta-sts-host-check', accept: '*/*' },
      ca: opts.ca === undefined ? [...rootCertificates] : [...rootCertificates, opts.ca],
      minVersion: 'TLSv1.2',
      agent: false,
    }
    const req = request(options, (res: IncomingMessage) => {
      const socket = res.socket as TLSSocket
      const peer = socket.getPeerCertificate()
      const fetched = {
        status: res.statusCode as number,
        ...(res.headers.location === undefined ? {} : { location: res.headers.location }),
        ...(res.headers['content-type'] === undefined ? {} : { contentType: res.headers['content-type'] }),
        tlsVersion: socket.getProtocol() as string,
        certIssued: new Date(peer.valid_from),
        certExpires: new Date(peer.valid_to),
        certFingerprint: peer.fingerprint256,
        certNames: peer.subjectaltname,
      }
      const tooLarge = (): void => finish({ ok: false, kind: 'too-large', code: 'ETOOLARGE', message: `the body is larger than ${MAX_POLICY_BYTES} bytes` })
      if (Number(res.headers['content-length'] ?? 0) > MAX_POLICY_BYTES) return tooLarge()
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_POLICY_BYTES) return tooLarge()
        chunks.push(chunk)
      })
      res.on('end', () => finish({ ok: true, ...fetched, body: Buffer.concat(chunks) }))
      res.on('error', () => { /* the request's error or our own finish reports it */ })
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EUNKNOWN'
      finish({ ok: false, kind: isCertificateError(code) ? 'tls' : 'connect', code, message: err.message })
    })
    const timer = setTimeout(() => finish({ ok: false, kind: 'timeout', code: 'ETIMEDOUT', message: `no complete answer within ${opts.timeoutMs} ms` }), opts.timeoutMs)
    req.end()
  })
}

const run: CheckRun = async ctx => {
  const { tenant } = ctx
  const host = tenant.host
  const url = `https://${host}${PATH}`
  const pointHint = `point ${host} at this service (a CNAME to the operator's name, or its A/AAAA addresses)`
  const result = (status: CheckResult['status'], reason: string, hint: string | undefined, details: Record<string, unknown>): CheckResult[] =>
    [{ id: ID, name: NAME, status, reason, ...(hint === undefined ? {} : { hint }), details: { url, ...details } }]

  const resolved = await resolvePolicyHost(ctx, host)
  if ('error' in resolved) {
    return resolved.missing
      ? result('fail', `${host} does not resolve (no A/AAAA record)`, pointHint, { error: resolved.error })
      : result('fail', `DNS lookup of ${host} failed (${resolved.error})`, 'check that the domain\'s name servers answer A/AAAA queries', { error: resolved.error })
  }
  const address = resolved.addresses[0] as string
  const where = { address, addresses: resolved.addresses, port: ctx.httpsPort }
  const fetched = await fetchPolicy({ address, port: ctx.httpsPort, host, timeoutMs: ctx.timeoutMs, ...(ctx.ca === undefined ? {} : { ca: ctx.ca }) })
  if (!fetched.ok) {
    const details = { ...where, error: fetched.code }
    switch (fetched.kind) {
      case 'timeout':
        return result('fail', `${address}:${ctx.httpsPort} gave no complete answer within ${ctx.timeoutMs} ms`, 'answer quickly: senders give up after a few seconds (Postfix: 4 s)', details)
      case 'too-large':
        return result('fail', `the policy body is larger than 64 KiB: senders stop reading`, `serve the plain policy (a few hundred bytes); ${pointHint}`, details)
      case 'tls':
        return result('fail', `the certificate of ${host} is not valid for senders (${fetched.code})`, `serve a certificate for ${host} from a public CA (this service obtains one when ${host} points at it)`, details)
      default:
        return result('fail', `cannot fetch the policy from ${address}:${ctx.httpsPort} (${fetched.code})`, `${pointHint} and let port ${ctx.httpsPort} through`, details)
    }
  }
  const details = {
    ...where,
    status: fetched.status,
    contentType: fetched.contentType,
    tlsVersion: fetched.tlsVersion,
    certExpires: fetched.certExpires.toISOString(),
    certNames: fetched.certNames,
    bytes: fetched.body.length,
  }
  const refused = policyResponseProblem(fetched, url)
  if (refused) return result('fail', refused.reason, refused.fix === undefined ? pointHint : `${refused.fix}; ${pointHint}`, details)
  const parsed = parsePolicy(fetched.body.toString('utf8'))
  const parseDetails = { ...details, errors: parsed.errors, notes: parsed.notes }
  if (!parsed.ok) {
    const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more)` : ''
    return result('fail', `the policy is invalid: it ${parsed.errors[0]}${more}`, `serve the policy this service renders; ${pointHint}`, parseDetails)
  }
  if (!fetched.body.equals(tenant.body)) {
    const { policy } = parsed
    const differences = [
      ...(policy.mode === tenant.mode ? [] : [`mode ${policy.mode} (served here: ${tenant.mode})`]),
      ...(policy.mx.join(',') === tenant.mx.join(',') ? [] : [`mx ${policy.mx.join(',')} (served here: ${tenant.mx.join(',')})`]),
      ...(policy.maxAge === tenant.maxAge ? [] : [`max_age ${policy.maxAge} (served here: ${tenant.maxAge})`]),
    ]
    return result('fail', `the policy host serves a different policy than this service (is ${host} pointed elsewhere?)`, pointHint, { ...parseDetails, differences })
  }
  const expires = fetched.certExpires
  const cert = { notBefore: fetched.certIssued, notAfter: expires, fingerprint: fetched.certFingerprint }
  const plan = ctx.renewalPlan?.(host)
  const expiry = policyCertificateExpiry(host, cert, { managed: ctx.managedCertificates, now: ctx.now(), ...(plan === undefined ? {} : { plan }) })
  const expiryDetails = { ...parseDetails, ...(expiry.renewAt === undefined ? {} : { certRenewAt: expiry.renewAt.toISOString() }) }
  if (expiry.warn) return result('warn', expiry.reason, expiry.hint, expiryDetails)
  return result('pass', `serves the policy (mode ${parsed.policy.mode}, max_age ${parsed.policy.maxAge}) over ${fetched.tlsVersion}; certificate valid until ${expires.toISOString()}`, undefined, expiryDetails)
}

/**
 * Fetch `https://mta-sts.<domain>/.well-known/mta-sts.txt` as senders do and
 * require: status 200 without redirects, `Content-Type: text/plain`, at most
 * 64 KiB, a policy valid by the strict grammar and byte-identical to the
 * policy this service serves for the tenant (otherwise the name points elsewhere).
 * A failure blocks enforce; a certificate due for renewal only warns.
 */
export const policyCheck: Check = Object.freeze({ id: ID, title: NAME, gatesEnforce: 'fail', run })
