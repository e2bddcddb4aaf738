import { createServer, type AddressInfo, type Socket } from 'node:net'
import { SMTPServer, type SMTPServerOptions } from 'smtp-server'

/** The subset of a tap Test these helpers need. */
interface Teardown {
  teardown (fn: () => unknown): void
}

/** Errors the servers saw (failed handshakes...), for tests that want to look. */
export interface StartedServer {
  readonly port: number
  readonly errors: Error[]
}

/**
 * A real `smtp-server` on 127.0.0.1 (random port), accepting anything, closed at
 * teardown. Pass `key`/`cert` (and TLS options) for STARTTLS, `hideSTARTTLS` for none.
 */
export async function startSmtpServer (t: Teardown, options: SMTPServerOptions): Promise<StartedServer> {
  const errors: Error[] = []
  const server = new SMTPServer({ logger: false, authOptional: true, closeTimeout: 1000, ...options })
  // Failed client handshakes surface here; without a listener they would crash the test.
  server.on('error', err => { errors.push(err) })
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { port: (server.server.address() as AddressInfo).port, errors }
}

/** What a scripted server does with each line the client sends. */
export type LineHandler = (line: string, socket: Socket) => void

/** Behaviour of {@link startScriptedServer}. */
export interface Script {
  /** First line sent on connect; none when absent (a server that never greets). */
  readonly greeting?: string
  /** Close every connection as soon as it is accepted. */
  readonly hangUp?: boolean
  /** Called for every line the client sends. */
  readonly onLine?: LineHandler
}

/**
 * A hand-written "SMTP" server on 127.0.0.1 for misbehaviour smtp-server cannot
 * show: silence, hanging up, odd replies. All sockets are destroyed and the server
 * closed at teardown.
 */
export async function startScriptedServer (t: Teardown, script: Script): Promise<StartedServer> {
  const { greeting, hangUp = false, onLine = () => {} } = script
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    if (hangUp) {
      socket.destroy()
      return
    }
    if (greeting !== undefined) socket.write(`${greeting}\r\n`)
    let buffered = ''
    socket.on('data', chunk => {
      buffered += chunk.toString('latin1')
      let eol
      while ((eol = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, eol)
        buffered = buffered.slice(eol + 2)
        onLine(line, socket)
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  }))
  return { port: (server.address() as AddressInfo).port, errors: [] }
}

/** A port on 127.0.0.1 where nothing listens (bound once, then released). */
export async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}
