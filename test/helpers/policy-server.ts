import { createServer } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { InternalCa } from '../../src/tls/internal-ca.js'

/** The subset of a tap Test these helpers need. */
interface Teardown {
  teardown (fn: () => unknown): void
}

/** What a policy host answers: a policy text (served as text/plain) or a request handler. */
export type PolicyAnswer = string | ((req: IncomingMessage, res: ServerResponse) => void)

/**
 * A policy host "elsewhere": an HTTPS server on 127.0.0.1 (random port) with a
 * certificate for `names` from `ca`, answering every request with `answer`;
 * closed at teardown. Returns its port.
 */
export async function startPolicyServer (t: Teardown, ca: InternalCa, names: readonly string[], answer: PolicyAnswer): Promise<number> {
  const { certPem, keyPem } = await ca.issue(names)
  const handler = typeof answer === 'string'
    ? (_req: IncomingMessage, res: ServerResponse): void => { res.setHeader('content-type', 'text/plain'); res.end(answer) }
    : answer
  const server = createServer({ cert: certPem, key: keyPem }, handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return (server.address() as AddressInfo).port
}

/** A policy text as RFC 8461 writes it (CRLF lines). */
export function policyText (mode: string, mx: readonly string[], maxAge: number): string {
  return ['version: STSv1', `mode: ${mode}`, ...mx.map(m => `mx: ${m}`), `max_age: ${maxAge}`, ''].join('\r\n')
}
