/**
 * Finds the TLS report files (RFC 8460 section 3) in one mail, by their content: senders label
 * them `application/tlsrpt+gzip`, `+json`, plain `application/tlsrpt`, `application/gzip` or
 * `application/octet-stream`, put several in one mail, or use multipart/mixed.
 */
import { simpleParser, type Attachment } from 'mailparser'
import { isGzip } from './is-gzip.js'
import { startsLikeJson } from './starts-like-json.js'

/** One report file found in a mail: its decoded bytes (gzip or JSON) and what the mail called it. */
export interface MailReport {
  readonly bytes: Buffer
  readonly filename?: string
  /** The declared content type, for the record only: the bytes decided that this is a report. */
  readonly contentType: string
}

/** What {@link extractMailReports} found in one mail. */
export interface MailReports {
  readonly reports: readonly MailReport[]
  readonly subject?: string
  readonly messageId?: string
  /** Why no report was found, naming the parts seen; set only when `reports` is empty. */
  readonly reason?: string
}

/** A forwarded report mail (message/rfc822) is opened this many levels deep, no deeper. */
const MAX_NESTED_MAILS = 2
const HEADER_LINE = /^[\x21-\x39\x3b-\x7e]+:/

/**
 * Whether `bytes` is a TLS report file by its content: gzip (magic `1f 8b`), or JSON that
 * starts with `{` (after an optional UTF-8 BOM and whitespace) and names `"policies"` or
 * `"organization-name"`. It does not validate the report: the sink stores and then parses it.
 */
export function isReportContent (bytes: Buffer): boolean {
  return isGzip(bytes) || (startsLikeJson(bytes) && (bytes.includes('"policies"') || bytes.includes('"organization-name"')))
}

/**
 * Whether `bytes` looks like a mail (an `.eml` file): its first line is a header field
 * (`Name: value`). Report files (gzip, JSON) and mbox files (`From ` line) do not.
 */
export function looksLikeMail (bytes: Buffer): boolean {
  const end = bytes.indexOf(0x0a)
  const firstLine = bytes.subarray(0, end < 0 ? Math.min(bytes.length, 1000) : Math.min(end, 1000)).toString('latin1')
  return HEADER_LINE.test(firstLine)
}

/**
 * Parses `mail` (RFC 5322, MIME) and returns every part whose content is a TLS report
 * ({@link isReportContent}), whatever its declared type, in the order of the mail; forwarded
 * mails (message/rfc822 parts) are searched too. A text body counts only when the whole body is
 * a JSON object with `policies` or `organization-name` (some senders inline the report), so a
 * human-readable text never does. When there is none, `reason` names the parts seen. A
 * malformed mail is read as far as it goes (mailparser is lenient): garbage yields no report
 * and a reason, a truncated attachment yields the bytes that were there.
 */
export async function extractMailReports (mail: Buffer): Promise<MailReports> {
  return await extract(mail, 0)
}

async function extract (mail: Buffer, depth: number): Promise<MailReports> {
  // No HTML/text conversions: only the bytes matter here, and they cost time on big bodies.
  const parsed = await simpleParser(mail, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true })
  const header = {
    ...(parsed.subject !== undefined ? { subject: parsed.subject } : {}),
    ...(parsed.messageId !== undefined ? { messageId: parsed.messageId } : {}),
  }
  const reports: MailReport[] = []
  const seen: string[] = []
  if (typeof parsed.text === 'string') {
    seen.push('text/plain')
    if (isReportJsonText(parsed.text)) reports.push({ bytes: Buffer.from(parsed.text, 'utf8'), contentType: 'text/plain' })
  }
  if (typeof parsed.html === 'string') seen.push('text/html')
  for (const part of parsed.attachments) {
    if (isReportContent(part.content)) {
      reports.push({ bytes: part.content, contentType: part.contentType, ...(part.filename !== undefined ? { filename: part.filename } : {}) })
    } else if (part.contentType === 'message/rfc822' && depth < MAX_NESTED_MAILS) {
      const inner = await extract(part.content, depth + 1)
      reports.push(...inner.reports)
      seen.push(inner.reports.length > 0 ? 'message/rfc822' : `message/rfc822 (${String(inner.reason)})`)
    } else {
      seen.push(describe(part))
    }
  }
  if (reports.length > 0) return { ...header, reports }
  return { ...header, reports, reason: `no TLS report attachment (parts: ${seen.length > 0 ? seen.join(', ') : 'none'})` }
}

/** A text body that is one JSON object with report fields, nothing else. */
function isReportJsonText (text: string): boolean {
  if (!isReportContent(Buffer.from(text, 'utf8'))) return false
  try {
    // Starting with `{`, it parses to an object or not at all.
    JSON.parse(text.replace(/^\uFEFF/, ''))
    return true
  } catch {
    return false
  }
}

/** `application/gzip "name.gz" (not gzip or report JSON)`: how a part that was not a report looked. */
function describe (part: Attachment): string {
  const name = part.filename !== undefined ? ` "${part.filename}"` : ''
  return `${part.contentType}${name} (${part.size} bytes, not gzip or report JSON)`
}
