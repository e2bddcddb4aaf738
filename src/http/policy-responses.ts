import type { Socket } from 'node:net'
import { policyHeaders } from './policy-headers.js'

/** Header blocks kept by body length; past this many lengths the cache starts over. */
export const MAX_RESPONSE_HEADS = 1000

/** Writes whole policy answers onto a socket; see {@link policyResponses}. */
export interface PolicyResponses {
  /** Writes a 200 with `body` (headers only for HEAD); `close` says `Connection: close`. */
  write (socket: Socket, body: Buffer, head: boolean, close: boolean): void
}

/**
 * The bytes Node's HTTP server writes for `res.writeHead(200, policyHeaders(n)); res.end(body)`
 * on a keep-alive connection, prebuilt: the status line and headers by body length, and the
 * `Date`, `Connection` and `Keep-Alive` lines once a second. An answer is three buffers
 * handed to the socket corked, which TLS sends as one record.
 * `test/http/policy-responses.test.ts` compares them with what Node writes.
 */
export function policyResponses (keepAliveTimeoutMs: number): PolicyResponses {
  const heads = new Map<number, Buffer>()
  const keepAlive = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveTimeoutMs / 1000)}\r\n\r\n`
  let second = -1
  let keepAliveTail = Buffer.alloc(0)
  let closeTail = Buffer.alloc(0)

  const headOf = (length: number): Buffer => {
    let head = heads.get(length)
    if (head === undefined) {
      if (heads.size >= MAX_RESPONSE_HEADS) heads.clear()
      const lines = Object.entries(policyHeaders(length)).map(([name, value]) => `${name}: ${value}\r\n`)
      heads.set(length, head = Buffer.from(`HTTP/1.1 200 OK\r\n${lines.join('')}`, 'latin1'))
    }
    return head
  }

  return {
    write (socket, body, head, close) {
      const now = Date.now()
      if (Math.floor(now / 1000) !== second) {
        second = Math.floor(now / 1000)
        const date = `Date: ${new Date(now).toUTCString()}\r\n`
        keepAliveTail = Buffer.from(date + keepAlive, 'latin1')
        closeTail = Buffer.from(`${date}Connection: close\r\n\r\n`, 'latin1')
      }
      socket.cork()
      socket.write(headOf(body.length))
      socket.write(close ? closeTail : keepAliveTail)
      if (!head) socket.write(body)
      socket.uncork()
    },
  }
}
