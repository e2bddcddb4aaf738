import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'

const BAD_REQUEST = Buffer.from('Bad Request\n')
const ABSOLUTE_FORM = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i
const DEFAULT_PORT: Readonly<Record<string, string>> = { http: ':80', https: ':443' }

/** `authority` in lower case, without the scheme's default port. */
function normalizeAuthority (authority: string, scheme: string): string {
  const lower = authority.toLowerCase()
  const port = DEFAULT_PORT[scheme]
  return port !== undefined && lower.endsWith(port) ? lower.slice(0, -port.length) : lower
}

/**
 * Why a request's target is ambiguous, or undefined when it is not:
 * more than one `Host` header (Node keeps the first one only, a proxy in
 * front may have used another), or an absolute-form request URI
 * (`GET https://host/path`) whose authority is not the `Host` header's
 * (case and the scheme's default port aside).
 */
export function ambiguousHost (raw: IncomingMessage): string | undefined {
  let hosts = 0
  const headers = raw.rawHeaders
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++
  }
  if (hosts > 1) return 'more than one Host header'
  // Always set on a server's requests.
  const url = String(raw.url)
  if (url.charCodeAt(0) === 47 /* / */) return undefined
  const absolute = ABSOLUTE_FORM.exec(url)
  if (absolute === null) return undefined
  const scheme = (absolute[1] as string).toLowerCase()
  const authority = normalizeAuthority(absolute[2] as string, scheme)
  return authority === normalizeAuthority(raw.headers.host ?? '', scheme) ? undefined : 'request URI authority differs from Host'
}

/**
 * Answer `400 Bad Request` (and close the connection) to requests whose
 * target host is ambiguous; see {@link ambiguousHost}. A policy must never
 * be chosen by a header that something in front of this service read
 * differently.
 */
export function strictHost (app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const reason = ambiguousHost(request.raw)
    if (reason === undefined) return done()
    request.log.debug({ event: 'bad_request', reason }, reason)
    reply.code(400).header('content-type', 'text/plain; charset=utf-8').header('connection', 'close').send(BAD_REQUEST)
  })
}
