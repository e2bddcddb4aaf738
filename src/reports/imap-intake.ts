/**
 * TLS report intake from an IMAP mailbox: every mail in one folder is read, its reports are
 * handed to the {@link ReportSink}, and only then is the mail marked (a keyword or a move), so
 * a crash at any point loses nothing: a mail read twice is submitted twice and the sink
 * deduplicates.
 */
import { readFile } from 'node:fs/promises'
import { rootCertificates, type ConnectionOptions } from 'node:tls'
import { ImapFlow } from 'imapflow'
import type { Logger } from 'pino'
import { isLoopbackHost } from '../config/is-loopback-host.js'
import type { MailboxSettings } from '../config/types.js'
import { extractMailReports } from './mail-reports.js'
import type { IngestOutcome, ReportInput, ReportSink } from './types.js'

/** Where and how to read report mails (`reports.mailbox`, defaults applied). Durations in seconds, sizes in bytes. */
export type ImapSettings = MailboxSettings

/** What {@link ImapIntake} needs. */
export interface ImapIntakeOptions {
  readonly settings: ImapSettings
  readonly sink: ReportSink
  readonly log: Logger
  /** Waits after a failure: from `initialMs` (default 1 s), doubling up to `maxMs` (default 5 min). */
  readonly retry?: { readonly initialMs?: number, readonly maxMs?: number }
}

/** Keyword of a mail whose reports were all stored (`after: flag`). */
export const DONE_KEYWORD = '$TlsrptDone'
/** Keyword of a mail that carried no report and was set aside (`after: flag`). */
export const REJECTED_KEYWORD = '$TlsrptRejected'

const HEAD_BYTES = 64 * 1024
const LOGOUT_TIMEOUT_MS = 2000

/**
 * Reads report mails from one IMAP folder until closed: waits with IDLE when the server has
 * it (new mail is read within seconds), polls otherwise, reconnects with backoff, and retries a
 * mail whose reports the sink could not take. Never throws after {@link ImapIntake.start}:
 * failures are logged (never the password) and retried.
 */
export class ImapIntake {
  readonly #settings: ImapSettings
  readonly #sink: ReportSink
  readonly #log: Logger
  readonly #initialMs: number
  readonly #maxMs: number
  #closed = false
  #loop: Promise<void> | undefined
  #client: ImapFlow | undefined
  #wake: (() => void) | undefined
  #newMail = false

  constructor (opts: ImapIntakeOptions) {
    this.#settings = opts.settings
    this.#sink = opts.sink
    this.#log = opts.log
    this.#initialMs = opts.retry?.initialMs ?? 1000
    this.#maxMs = opts.retry?.maxMs ?? 300_000
  }

  /** Starts reading in the background. A second call, or a call after close, does nothing. */
  start (): void {
    if (this.#loop !== undefined || this.#closed) return
    this.#loop = this.#run()
  }

  /**
   * Stops: logs out (giving up after 2 s when the server does not answer), stops every timer,
   * and waits for a sink call in progress. A mail being read stays unmarked and is read again
   * next time.
   */
  async close (): Promise<void> {
    this.#closed = true
    this.#wake?.()
    const client = this.#client
    if (client !== undefined) await logout(client)
    await this.#loop
  }

  async #run (): Promise<void> {
    let delay = this.#initialMs
    while (!this.#closed) {
      try {
        await this.#session(() => { delay = this.#initialMs })
      } catch (err) {
        if (this.#closed) break
        this.#log.error({ ...describeError(err), host: this.#settings.host, user: this.#settings.user, retryInMs: delay },
          'imap intake: connection failed, retrying')
        await this.#sleep(delay)
        delay = Math.min(delay * 2, this.#maxMs)
      }
    }
  }

  /** One connection: read the folder, wait for mail, again; returns when closed, throws when the connection fails. */
  async #session (connected: () => void): Promise<void> {
    const s = this.#settings
    const pass = (await readFile(s.passwordFile, 'utf8')).replace(/\r?\n$/, '')
    if (pass === '') throw new Error(`password file ${s.passwordFile} is empty`)
    if (s.security === 'plain' && !isLoopbackHost(s.host)) {
      this.#log.warn({ host: s.host }, 'imap intake: security plain sends the password unencrypted to a host that is not loopback')
    }
    const tls: ConnectionOptions = s.caFile !== undefined
      ? { ca: [...rootCertificates, await readFile(s.caFile, 'utf8')] }
      : {}
    const maxLiteralSize = Math.max(s.maxMessageBytes, HEAD_BYTES) + 1024
    const client = new ImapFlow({
      host: s.host,
      port: s.port,
      secure: s.security === 'tls',
      doSTARTTLS: s.security === 'starttls' ? true : s.security === 'plain' ? false : undefined,
      tls,
      auth: { user: s.user, pass },
      logger: false,
      disableAutoIdle: true,
      maxLiteralSize,
      maxResponseSize: maxLiteralSize + HEAD_BYTES,
      connectionTimeout: 30_000,
    })
    // A failing command rejects too, and that is where the error is logged.
    client.on('error', () => {})
    // Events of a connection already given up must not cut a backoff wait short.
    client.on('exists', () => { if (this.#client === client) { this.#newMail = true; this.#wake?.() } })
    client.on('close', () => { if (this.#client === client) this.#wake?.() })
    this.#client = client
    try {
      await client.connect()
      if (s.after === 'move') {
        await client.mailboxCreate(s.processedFolder)
        await client.mailboxCreate(s.rejectedFolder)
      }
      const box = await client.mailboxOpen(s.folder)
      if (s.after === 'flag' && box.permanentFlags?.has('\\*') !== true) {
        throw new Error(`folder ${s.folder} does not keep keywords such as ${DONE_KEYWORD}: use after: move`)
      }
      const idle = client.capabilities.has('IDLE')
      this.#log.info({ host: s.host, folder: s.folder, after: s.after, idle }, 'imap intake: connected')
      connected()
      let sinkDelay = this.#initialMs
      while (!this.#closed) {
        const done = await this.#readFolder(client, box.uidValidity)
        const wait = done ? s.pollInterval * 1000 : sinkDelay
        sinkDelay = done ? this.#initialMs : Math.min(sinkDelay * 2, this.#maxMs)
        if (done && this.#newMail) continue
        if (idle && done) void client.idle().catch(() => {})
        await this.#sleep(wait)
        if (!client.usable && !this.#closed) throw new Error('IMAP connection closed by the server')
      }
    } finally {
      this.#client = undefined
      client.close()
    }
  }

  /** Every unmarked mail of the folder, oldest first. False when the sink failed (retry later). */
  async #readFolder (client: ImapFlow, uidValidity: bigint): Promise<boolean> {
    this.#newMail = false
    const query = this.#settings.after === 'flag'
      ? { deleted: false, not: { or: [{ keyword: DONE_KEYWORD }, { keyword: REJECTED_KEYWORD }] } }
      : { deleted: false }
    const uids = await client.search(query, { uid: true })
    if (uids === false || uids === undefined) throw new Error(`SEARCH in ${this.#settings.folder} failed`)
    for (const uid of [...uids].sort((a, b) => a - b)) {
      if (this.#closed) return true
      if (!await this.#readMail(client, uidValidity, uid)) return false
    }
    return true
  }

  /** Hands one mail's reports (or the mail itself) to the sink, then marks it. False when the sink failed. */
  async #readMail (client: ImapFlow, uidValidity: bigint, uid: number): Promise<boolean> {
    const s = this.#settings
    const source = `${s.folder}/${uidValidity}/${uid}`
    const meta = await client.fetchOne(String(uid), { uid: true, size: true }, { uid: true })
    // Gone since the search (another client expunged it): nothing to do.
    if (meta === false) return true
    const size = meta.size ?? 0
    const logged = { folder: s.folder, uidValidity: String(uidValidity), uid, size }

    if (size > s.maxMessageBytes) {
      const head = await client.fetchOne(String(uid), { source: { maxLength: HEAD_BYTES } }, { uid: true })
      const bytes = head !== false && head.source !== undefined ? head.source : Buffer.alloc(0)
      const reason = `mail of ${size} bytes is larger than maxMessageBytes (${s.maxMessageBytes}): not read, its first ${bytes.length} bytes kept`
      return await this.#reject(client, uid, { bytes, transport: 'imap', source, label: 'message/rfc822' }, reason, logged)
    }

    const mail = await client.fetchOne(String(uid), { source: true }, { uid: true })
    if (mail === false || mail.source === undefined) return true
    const found = await extractMailReports(mail.source)
    if (found.reports.length === 0) {
      return await this.#reject(client, uid, { bytes: mail.source, transport: 'imap', source, label: 'message/rfc822' },
        found.reason ?? 'no TLS report', { ...logged, subject: found.subject })
    }
    const counts = { stored: 0, duplicate: 0, invalid: 0 }
    for (const report of found.reports) {
      const outcome = await this.#toSink(logged, () => this.#sink.submit({
        bytes: report.bytes, transport: 'imap', source, label: report.filename ?? report.contentType,
      }))
      if (outcome === undefined) return false
      counts[outcome.status]++
    }
    await this.#mark(client, uid, 'done')
    this.#log.info({ ...logged, reports: found.reports.length, ...counts }, 'imap intake: mail read')
    return true
  }

  async #reject (client: ImapFlow, uid: number, input: ReportInput, reason: string, logged: object): Promise<boolean> {
    const outcome = await this.#toSink(logged, () => this.#sink.setAside(input, reason))
    if (outcome === undefined) return false
    await this.#mark(client, uid, 'rejected')
    this.#log.warn({ ...logged, reason }, 'imap intake: mail without a report set aside')
    return true
  }

  /** A sink call; undefined (logged) when the sink failed, so the mail stays unmarked. */
  async #toSink (logged: object, call: () => Promise<IngestOutcome>): Promise<IngestOutcome | undefined> {
    try {
      return await call()
    } catch (err) {
      this.#log.error({ ...logged, ...describeError(err) }, 'imap intake: the report store failed, the mail stays unread and is retried')
      return undefined
    }
  }

  async #mark (client: ImapFlow, uid: number, as: 'done' | 'rejected'): Promise<void> {
    const s = this.#settings
    const ok = s.after === 'flag'
      ? await client.messageFlagsAdd(String(uid), [as === 'done' ? DONE_KEYWORD : REJECTED_KEYWORD], { uid: true })
      : await client.messageMove(String(uid), as === 'done' ? s.processedFolder : s.rejectedFolder, { uid: true }) !== false
    if (!ok) throw new Error(`could not mark mail ${uid} of ${s.folder} as ${as}`)
  }

  /** Waits `ms`, or less: new mail, the connection closing, or close() wake it. */
  async #sleep (ms: number): Promise<void> {
    if (this.#closed) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(wake, ms)
      timer.unref()
      function wake (): void {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = wake
    })
    this.#wake = undefined
  }
}

/** Logs out politely, but gives up after 2 s and drops the connection. */
async function logout (client: ImapFlow): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    client.logout().catch(() => {}),
    new Promise<void>(resolve => { timer = setTimeout(resolve, LOGOUT_TIMEOUT_MS) }),
  ])
  clearTimeout(timer)
  client.close()
}

/** The parts of an error worth logging: message and IMAP codes (imapflow's errors carry no credentials). */
function describeError (err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err) }
  const e = err as Error & { code?: unknown, authenticationFailed?: unknown, serverResponseCode?: unknown, responseText?: unknown }
  return {
    error: e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.authenticationFailed === true ? { authenticationFailed: true } : {}),
    ...(e.serverResponseCode !== undefined ? { serverResponseCode: e.serverResponseCode } : {}),
    ...(typeof e.responseText === 'string' ? { responseText: e.responseText } : {}),
  }
}
