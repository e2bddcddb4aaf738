/** A policy fetch read off the wire by {@link parsePolicyRequest}. */
export interface PolicyRequest {
  readonly method: 'GET' | 'HEAD'
  /** The one Host header's value, trimmed, as sent. */
  readonly host: string
  /** The first User-Agent header's value, trimmed, if any. */
  readonly userAgent: string | undefined
  /** The client asked to close the connection after this answer (`Connection: close`). */
  readonly close: boolean
  /** Offset just past the request's blank line: where the next request starts. */
  readonly end: number
}

/** Header lines beyond this many: not a plain policy fetch. */
export const MAX_POLICY_REQUEST_HEADERS = 64

const GET_LINE = 'GET /.well-known/mta-sts.txt HTTP/1.1\r\n'
const HEAD_LINE = 'HEAD /.well-known/mta-sts.txt HTTP/1.1\r\n'
// One header line as RFC 9110 allows it without leniency: a token, a colon, visible characters,
// spaces and tabs. Anything else (obs-fold, a bare CR or LF, space before the colon, control or
// 8-bit characters) is left to Node's parser, which knows the rules for it.
const HEADER_LINE = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e]*\r\n/y

/**
 * Reads one request at `start` of `text` (bytes as latin1) if it is exactly what senders send
 * for a policy: `GET` or `HEAD` of `/.well-known/mta-sts.txt` over HTTP/1.1, plain header
 * lines, exactly one Host, no body (no Content-Length or Transfer-Encoding), no Upgrade or
 * Expect. Returns undefined for anything else, and for a request not yet complete: the caller
 * then leaves the bytes to Node's HTTP server, which answers every request this does not.
 * It accepts nothing Node would refuse, so a request is never answered differently here.
 */
export function parsePolicyRequest (text: string, start: number): PolicyRequest | undefined {
  let method: 'GET' | 'HEAD'
  let at: number
  if (text.startsWith(GET_LINE, start)) {
    method = 'GET'
    at = start + GET_LINE.length
  } else if (text.startsWith(HEAD_LINE, start)) {
    method = 'HEAD'
    at = start + HEAD_LINE.length
  } else return undefined
  let host: string | undefined
  let userAgent: string | undefined
  let close = false
  for (let lines = 0; ; lines++) {
    if (text.startsWith('\r\n', at)) return host === undefined ? undefined : { method, host, userAgent, close, end: at + 2 }
    if (lines === MAX_POLICY_REQUEST_HEADERS) return undefined
    HEADER_LINE.lastIndex = at
    if (!HEADER_LINE.test(text)) return undefined
    const next = HEADER_LINE.lastIndex
    const colon = text.indexOf(':', at)
    switch (text.slice(at, colon).toLowerCase()) {
      case 'host':
        if (host !== undefined) return undefined
        host = headerValue(text, colon, next)
        break
      case 'user-agent':
        userAgent ??= headerValue(text, colon, next)
        break
      case 'connection':
        for (const option of headerValue(text, colon, next).toLowerCase().split(',')) {
          const token = option.trim()
          if (token === 'close') close = true
          else if (token === 'upgrade') return undefined
        }
        break
      case 'content-length': case 'transfer-encoding': case 'upgrade': case 'expect':
        return undefined
    }
    at = next
  }
}

/** The value of the header line whose colon is at `colon` and which ends (after its CRLF) at `next`. */
function headerValue (text: string, colon: number, next: number): string {
  return text.slice(colon + 1, next - 2).trim()
}
