import type { Server as TlsServer, TLSSocket } from 'node:tls'
import { parsePolicyRequest, type PolicyRequest } from './parse-policy-request.js'

/**
 * Writes the whole answer to `request` on `socket` and returns true, or returns false
 * (having written nothing) to leave the request to Node's HTTP server.
 */
export type ConnectionAnswer = (socket: TLSSocket, request: PolicyRequest, started: number) => boolean

/** What {@link answerOnConnection} returns. */
export interface ConnectionAnswers {
  /** Connections still answered here (not yet handed to Node's HTTP server). */
  readonly size: number
  /**
   * From now on every answer says `Connection: close` and closes its connection; connections
   * waiting for their next request are ended now, so the server's `close()` need not wait for them.
   */
  close (): void
}

/** Answers buffered but not yet read by the client past which a connection stops reading. */
const MAX_UNREAD = 64 * 1024

/**
 * Answer plain policy fetches on the TLS connections of `server` (an `https.Server`) before
 * Node's HTTP server sees them: each data chunk is read with {@link parsePolicyRequest}, and
 * while its requests are plain policy fetches that `answer` takes, they are answered straight
 * from the socket, with no HTTP parser, request or response objects. At the first byte that
 * is anything else (another path or method, a header Node must judge, a request split across
 * chunks, a host that is no tenant) the connection is handed to Node's HTTP server with that
 * byte and everything after it, for good. Node sees exactly the requests not answered here.
 *
 * Until then the connection is this module's: errors destroy it, and it is closed after
 * `idleTimeoutMs` without a byte (Node's `keepAliveTimeout`).
 */
export function answerOnConnection (server: TlsServer, answer: ConnectionAnswer, idleTimeoutMs: number): ConnectionAnswers {
  const http = server.listeners('secureConnection') as ((socket: TLSSocket) => void)[]
  server.removeAllListeners('secureConnection')
  const sockets = new Set<TLSSocket>()
  let closing = false

  const handOff = (socket: TLSSocket, rest: Buffer, listeners: Listeners, answered: boolean): void => {
    sockets.delete(socket)
    socket.removeListener('data', listeners.data)
    socket.removeListener('error', listeners.error)
    socket.removeListener('timeout', listeners.timeout)
    socket.removeListener('drain', listeners.drain)
    socket.removeListener('close', listeners.close)
    socket.setTimeout(0)
    socket.unshift(rest)
    // Node's HTTP server hands the socket's native stream to its parser ("consume") unless it is
    // marked consumed. On a TLS socket with answers still being written, the writes after that
    // never complete (the connection stalls; test/http/answer-on-connection.test.ts shows it), so
    // a connection answered here is parsed from its 'data' events instead: only connections that
    // switch, and are rare, pay for it.
    const handle = (socket as unknown as { _handle?: { _consumed?: boolean } | null })._handle
    if (answered && handle) handle._consumed = true
    for (const listener of http) listener.call(server, socket)
  }

  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket)
    let answered = false
    const listeners: Listeners = {
      data (chunk: Buffer) {
        if (socket.writableEnded) return
        const started = performance.now()
        const text = chunk.toString('latin1')
        let at = 0
        while (at < text.length) {
          const request = parsePolicyRequest(text, at)
          if (request === undefined || !answer(socket, closing ? { ...request, close: true } : request, started)) {
            handOff(socket, chunk.subarray(at), listeners, answered)
            return
          }
          answered = true
          at = request.end
          if (request.close || closing) {
            sockets.delete(socket)
            socket.removeListener('data', listeners.data)
            socket.end()
            return
          }
        }
        // A client that sends requests without reading the answers is not read until it catches up.
        if (socket.writableLength > MAX_UNREAD) socket.pause()
      },
      drain () { socket.resume() },
      error () { socket.destroy() },
      timeout () { socket.destroy() },
      close () { sockets.delete(socket) },
    }
    socket.on('data', listeners.data)
    socket.on('drain', listeners.drain)
    socket.on('error', listeners.error)
    socket.on('timeout', listeners.timeout)
    socket.on('close', listeners.close)
    socket.setTimeout(idleTimeoutMs)
  })

  return {
    get size () { return sockets.size },
    close () {
      closing = true
      for (const socket of sockets) socket.end()
      sockets.clear()
    },
  }
}

interface Listeners {
  data (chunk: Buffer): void
  drain (): void
  error (): void
  timeout (): void
  close (): void
}
