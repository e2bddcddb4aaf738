import { X509Certificate } from 'node:crypto'
import type { Socket } from 'node:net'
import tls, { type TLSSocket } from 'node:tls'
import type SMTPConnection from 'nodemailer/lib/smtp-connection'
import { foldHostName } from '../domain/host-name.js'
import type { CheckStatus } from './types.js'

/** Options of {@link probeStartTls}. */
export interface ProbeOptions {
  /** The MX host name: sent as SNI and checked against the certificate. */
  readonly host: string
  /** The address to connect to (resolved by the caller: nodemailer would use the system resolver). */
  readonly address: string
  readonly port: number
  /** Limit for each step: greeting, every SMTP reply, the TLS handshake; connecting gets up to 3 × this. */
  readonly timeoutMs: number
  /** Extra CA certificates (PEM) to trust besides the public roots. */
  readonly ca?: string
  /** "Now" for the certificate's validity dates. */
  readonly now: Date
  /** A certificate expiring within this many days is a warning. */
  readonly expiryWarningDays: number
}

/**
 * What went wrong, in TLS-RPT `result-type` words (RFC 8460) where one fits; the
 * others are this check's own (`tls-version`, `connection`, `timeout`, `smtp`).
 */
export type ProbeProblem =
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'certificate-expiring'
  | 'tls-version'
  | 'connection'
  | 'timeout'
  | 'smtp'

/** The outcome of probing one MX address. */
export interface ProbeResult {
  readonly status: CheckStatus
  /** One line: what was found. */
  readonly reason: string
  /** One line: how to fix it (absent on pass). */
  readonly hint?: string
  /** Every problem found (the first one decides the hint); empty on pass. */
  readonly problems: readonly ProbeProblem[]
  /** Whether the server offered STARTTLS; absent when the session failed before EHLO was answered. */
  readonly starttls?: boolean
  /** Negotiated TLS version (`TLSv1.3`...), when a handshake succeeded. */
  readonly tlsVersion?: string
  /** Address, TLS version, cipher, certificate subject, SANs, issuer, dates, days left... */
  readonly details: Readonly<Record<string, unknown>>
}

const DAY_MS = 86400_000
/** Versions senders refuse (RFC 8996); the probe only learns them on its second, permissive attempt. */
const OLD_TLS: Readonly<Record<string, string>> = { TLSv1: 'TLS 1.0', 'TLSv1.1': 'TLS 1.1' }
/** Verification results that are reported from the dates and the name checked here instead. */
const NOT_TRUST_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID'])
const TRUST_WORDS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'issued by an unknown (self-signed) root',
}
/** The error nodemailer emits, with the fields it adds. */
interface SmtpError extends Error {
  code?: string
  originalCode?: string
  response?: string
  command?: string
  reason?: string
}

interface Session {
  readonly secure: boolean
  readonly protocol: string | null
  readonly cipher?: string
  readonly cert?: X509Certificate
  /** The chain verification error (an OpenSSL code), or undefined when the chain verified. */
  readonly verifyError?: string
}

type Attempt =
  | { readonly ok: true; readonly session: Session }
  | {
    readonly ok: false
    readonly error: SmtpError
    /** The error came during the STARTTLS handshake. */
    readonly inHandshake: boolean
    /** The server had sent its greeting (or any reply). */
    readonly greeted: boolean
  }

/**
 * Connect to one MX address, say EHLO, upgrade with STARTTLS when offered and judge
 * what a sender in `enforce` mode would: STARTTLS present, TLS 1.2 or later, a
 * certificate that names the MX host, chains to a trusted root and is within its
 * dates (a warning when it expires within `expiryWarningDays`). Never rejects; the
 * session ends with QUIT and its socket is closed before the promise settles.
 */
export async function probeStartTls (opts: ProbeOptions): Promise<ProbeResult> {
  const host = foldHostName(opts.host)
  const base = { address: opts.address, port: opts.port }
  const first = await attempt({ ...opts, host }, false)
  if (first.ok) return judge(first.session, host, opts, base)
  if (first.inHandshake) {
    // Node refuses TLS 1.0/1.1 (and weak keys) by default: try once more allowing them, to tell
    // a server stuck on old TLS from one whose TLS is broken altogether.
    const legacy = await attempt({ ...opts, host }, true)
    const old = legacy.ok ? OLD_TLS[String(legacy.session.protocol)] : undefined
    if (old !== undefined && legacy.ok) {
      return {
        status: 'fail',
        reason: `${old} only`,
        hint: `enable TLS 1.2 or 1.3 on ${host}: senders refuse ${old} (RFC 8996)`,
        problems: ['tls-version'],
        starttls: true,
        tlsVersion: String(legacy.session.protocol),
        details: { ...base, starttls: true, ...sessionDetails(legacy.session, host, opts.now) },
      }
    }
  }
  return failure(first, host, opts, base)
}

/** One SMTP session; settles once the connection is closed. */
async function attempt (opts: ProbeOptions, legacy: boolean): Promise<Attempt> {
  // Imported on first use: the service loads the checks at start, and probes an hour later.
  const { default: Connection } = await import('nodemailer/lib/smtp-connection')
  return await new Promise(resolve => {
    const conn = new Connection({
      host: opts.address,
      port: opts.port,
      servername: opts.host,
      // The whole set-up (connect, greeting, TLS handshake); greeting and handshake are each capped below.
      connectionTimeout: 3 * opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      // Inactivity: bounds waiting for every reply (EHLO, STARTTLS, QUIT).
      socketTimeout: opts.timeoutMs,
      socketCloseTimeout: opts.timeoutMs,
      logger: false,
      tls: {
        servername: opts.host,
        // Verified below, so that an untrusted or wrong certificate is described rather than refused.
        rejectUnauthorized: false,
        ca: opts.ca === undefined ? [...tls.rootCertificates] : [...tls.rootCertificates, opts.ca],
        ...(legacy ? { minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
      },
    })
    // Only reported inside a check finding, whose stable identity is its ProbeProblem, never thrown:
    // no errors.ts code.
    let outcome: Attempt = { ok: false, error: new Error('connection closed'), inHandshake: false, greeted: false }
    let connected = false
    // A failed STARTTLS handshake only emits 'error' (the connect callback never runs), so
    // listen for events. Errors after the session was read (a QUIT without reply) are ignored.
    conn.on('error', (error: SmtpError) => {
      if (!connected) outcome = { ok: false, error, inHandshake: conn.upgrading === true, greeted: conn.lastServerResponse !== false }
    })
    conn.once('connect', () => {
      connected = true
      outcome = { ok: true, session: readSession(conn) }
      conn.quit()
    })
    // 'end' comes once nodemailer has given up the connection, after QUIT or after an error.
    conn.once('end', () => {
      const socket = conn._socket as Socket
      if (socket.closed) resolve(outcome)
      else socket.once('close', () => resolve(outcome))
    })
    conn.connect()
  })
}

function readSession (conn: SMTPConnection): Session {
  if (!conn.secure) return { secure: false, protocol: null }
  const socket = conn._socket as TLSSocket
  return {
    secure: true,
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().name,
    cert: socket.getPeerX509Certificate(),
    // Node sets a string code here despite the Error type in @types/node.
    verifyError: socket.authorized ? undefined : String(socket.authorizationError),
  }
}

interface Finding { readonly problem: ProbeProblem; readonly reason: string; readonly hint: string }

function judge (session: Session, host: string, opts: ProbeOptions, base: Record<string, unknown>): ProbeResult {
  if (!session.secure) {
    return {
      status: 'fail',
      reason: 'server does not offer STARTTLS',
      hint: `enable STARTTLS on ${host} with a certificate for ${host}: senders in enforce mode refuse to deliver without it`,
      problems: ['starttls-not-supported'],
      starttls: false,
      details: { ...base, starttls: false },
    }
  }
  const cert = session.cert as X509Certificate
  const details = { ...base, starttls: true, ...sessionDetails(session, host, opts.now) }
  const notBefore = new Date(cert.validFrom)
  const notAfter = new Date(cert.validTo)
  const findings: Finding[] = []
  if (cert.checkHost(host) === undefined) {
    findings.push({
      problem: 'certificate-host-mismatch',
      reason: `certificate is for ${certNames(cert).join(', ') || 'no host name'}, not ${host}`,
      hint: `install a certificate that carries ${host} as a DNS name (SAN) on ${host}`,
    })
  }
  if (notAfter.getTime() < opts.now.getTime()) {
    findings.push({ problem: 'certificate-expired', reason: `certificate expired on ${day(notAfter)}`, hint: `renew the certificate of ${host}` })
  }
  if (notBefore.getTime() > opts.now.getTime()) {
    findings.push({
      problem: 'certificate-expired',
      reason: `certificate not valid before ${notBefore.toISOString()}`,
      hint: `check the clock of the CA or server that made the certificate of ${host}`,
    })
  }
  const verifyError = session.verifyError
  if (verifyError !== undefined && !NOT_TRUST_ERRORS.has(verifyError)) {
    findings.push({
      problem: 'certificate-not-trusted',
      reason: `certificate not trusted: ${TRUST_WORDS[verifyError] ?? verifyError.toLowerCase().replaceAll('_', ' ')}`,
      hint: `use a certificate from a public CA on ${host} and serve the full chain (leaf and intermediates)`,
    })
  }
  const first = findings[0]
  if (first !== undefined) {
    return {
      status: 'fail',
      reason: findings.map(f => f.reason).join('; '),
      hint: first.hint,
      problems: findings.map(f => f.problem),
      starttls: true,
      tlsVersion: String(session.protocol),
      details,
    }
  }
  const daysLeft = details.daysLeft
  const summary = `(${keyType(cert)}, issued by ${issuerName(cert)})`
  if (daysLeft < opts.expiryWarningDays) {
    return {
      status: 'warn',
      reason: `STARTTLS, ${session.protocol}, certificate expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'} on ${day(notAfter)} ${summary}`,
      hint: `renew the certificate of ${host} before ${day(notAfter)}; senders refuse an expired one`,
      problems: ['certificate-expiring'],
      starttls: true,
      tlsVersion: String(session.protocol),
      details,
    }
  }
  return {
    status: 'pass',
    reason: `STARTTLS, ${session.protocol}, certificate valid until ${day(notAfter)} ${summary}`,
    problems: [],
    starttls: true,
    tlsVersion: String(session.protocol),
    details,
  }
}

function failure (attempt: Attempt & { ok: false }, host: string, opts: ProbeOptions, base: Record<string, unknown>): ProbeResult {
  const { error } = attempt
  const reach = `make sure ${host} (${opts.address}) accepts SMTP connections on port ${opts.port} from the internet`
  let problem: ProbeProblem
  let reason: string
  let hint: string
  if (error.code === 'ETIMEDOUT') {
    problem = 'timeout'
    // Which of nodemailer's timers fired is a race (its inactivity timer runs alongside), so say where the session was.
    reason = `connection timed out ${attempt.inHandshake ? 'in the TLS handshake' : attempt.greeted ? 'waiting for an SMTP reply' : 'before the SMTP greeting'}`
    hint = `${reach} and answers within ${opts.timeoutMs / 1000} s`
  } else if (attempt.inHandshake) {
    problem = 'validation-failure'
    reason = `TLS handshake failed: ${text(error.reason, error.message)}`
    hint = `check the TLS set-up of ${host}: certificate, key and TLS 1.2+ ciphers`
  } else if (error.command === 'STARTTLS') {
    problem = 'starttls-not-supported'
    reason = `STARTTLS refused: ${text(error.response, error.message)}`
    hint = `make STARTTLS work on ${host}: senders in enforce mode refuse to deliver without it`
  } else if (error.code === 'ESOCKET') {
    problem = 'connection'
    reason = `connection failed: ${text(error.originalCode, error.message)}`
    hint = reach
  } else {
    problem = 'smtp'
    reason = `SMTP session failed: ${error.message}`
    hint = `check that ${host} speaks SMTP on port ${opts.port}`
  }
  return { status: 'fail', reason, hint, problems: [problem], details: { ...base, error: error.message } }
}

/** The facts worth keeping about a TLS session and its certificate. */
function sessionDetails (session: Session, host: string, now: Date): Record<string, unknown> & { daysLeft: number } {
  const cert = session.cert as X509Certificate
  const notAfter = new Date(cert.validTo)
  return {
    tlsVersion: session.protocol,
    cipher: session.cipher,
    subject: cert.subject,
    subjectAltNames: certNames(cert),
    issuer: cert.issuer,
    keyType: keyType(cert),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    fingerprint256: cert.fingerprint256,
    trusted: session.verifyError === undefined || NOT_TRUST_ERRORS.has(session.verifyError),
    verifyError: session.verifyError,
    matchesHost: cert.checkHost(host) !== undefined,
  }
}

/** DNS names of the certificate: its SANs, or the subject CN when it has none (as checkHost does). */
function certNames (cert: X509Certificate): string[] {
  const sans = (cert.subjectAltName ?? '').split(', ').filter(s => s.startsWith('DNS:')).map(s => s.slice(4))
  return sans.length > 0 ? sans : dnValues(cert.subject, 'CN')
}

function dnValues (dn: string, key: string): string[] {
  return dn.split('\n').filter(l => l.startsWith(`${key}=`)).map(l => l.slice(key.length + 1))
}

function issuerName (cert: X509Certificate): string {
  return [...dnValues(cert.issuer, 'CN'), cert.issuer.replaceAll('\n', ', ')][0] as string
}

function keyType (cert: X509Certificate): string {
  const type = String(cert.publicKey.asymmetricKeyType)
  return type === 'ec' ? 'ECDSA' : type.toUpperCase()
}

function day (d: Date): string {
  return d.toISOString().slice(0, 10)
}

/** The first non-empty string among the values. */
/** The first non-empty string among `values` (error codes, messages...). */
export function text (...values: unknown[]): string {
  return values.find(v => typeof v === 'string' && v !== '') as string
}
