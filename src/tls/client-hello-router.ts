import type { Server } from 'node:net'
import type { Socket } from 'node:net'
import { parseClientHello, type ClientHello } from './client-hello.js'

/** Decides where a connection goes once its ClientHello is known: a handler, or undefined for the server itself. */
export type ClientHelloDivert = (hello: ClientHello) => ((socket: Socket) => void) | undefined

const MAX_PEEK = 5 + 16 * 1024

/**
 * Let `divert` see each new connection's ClientHello (SNI and ALPN) before
 * the TLS server does. TLS-ALPN-01 needs this: the challenge certificate
 * must be chosen by ALPN (`acme-tls/1`), and node picks certificates by SNI
 * before it looks at ALPN. The peeked bytes are put back, so the TLS stack
 * (the server's own, or the diverted handler's) reads the whole handshake.
 */
export function routeByClientHello (server: Server, divert: ClientHelloDivert, timeoutMs = 10_000): void {
  const original = server.listeners('connection') as ((socket: Socket) => void)[]
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    let head: Buffer = Buffer.alloc(0)
    const ignoreError = (): void => {}
    const timer = setTimeout(() => socket.destroy(), timeoutMs)
    timer.unref()
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk])
      const hello = parseClientHello(head)
      if (hello === 'incomplete' && head.length < MAX_PEEK) return
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeListener('error', ignoreError)
      socket.removeListener('close', onClose)
      socket.pause()
      socket.unshift(head)
      const handler = hello === undefined || hello === 'incomplete' ? undefined : divert(hello)
      if (handler) handler(socket)
      else for (const listener of original) listener.call(server, socket)
    }
    const onClose = (): void => clearTimeout(timer)
    socket.on('data', onData)
    socket.on('error', ignoreError)
    socket.on('close', onClose)
  })
}
