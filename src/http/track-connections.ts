import type { Server, Socket } from 'node:net'

/**
 * How long requests already received get to finish once shutdown begins
 * (milliseconds). Policy answers are prebuilt, so a request that has
 * arrived is answered in well under this; what is still open afterwards is a
 * request that never finished arriving, or a client that never spoke.
 */
export const SHUTDOWN_GRACE_MS = 1000

/** The raw connections of one server, for a bounded shutdown. */
export interface ConnectionTracker {
  /** Connections currently open (raw TCP sockets, TLS ones still in their handshake included). */
  readonly size: number
  /**
   * Start draining: destroy at once the connections that have not sent a
   * byte, and after `graceMs` every connection still open. Call it when
   * the server stops accepting; the returned function cancels the timer.
   */
  drain (graceMs: number): () => void
}

/**
 * Track every connection `server` accepts, at the TCP level. Node's own
 * `closeIdleConnections()` only knows HTTP connections with no request in
 * progress: a TLS socket still in (or never starting) its handshake, a
 * silent TCP connection or a half-sent request would keep `server.close()`
 * waiting until their own timeouts. Install it after anything that replaces
 * the server's `connection` listeners (the ClientHello router), so it sees
 * sockets before their first byte.
 */
export function trackConnections (server: Server): ConnectionTracker {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  return {
    get size () { return sockets.size },
    drain (graceMs) {
      for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy()
      const timer = setTimeout(() => { for (const socket of sockets) socket.destroy() }, graceMs)
      timer.unref()
      return () => clearTimeout(timer)
    },
  }
}
