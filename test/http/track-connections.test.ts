import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { SHUTDOWN_GRACE_MS, trackConnections } from '../../src/http/track-connections.js'

async function setup (t: { teardown (fn: () => unknown): void }) {
  const server = createServer()
  const tracker = trackConnections(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const port = (server.address() as AddressInfo).port
  const client = async (bytes?: string): Promise<Socket> => {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    t.teardown(() => s.destroy())
    await once(s, 'connect')
    if (bytes !== undefined) s.write(bytes)
    return s
  }
  return { tracker, client }
}

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise(resolve => setTimeout(resolve, 10))
}

t.test('silent connections are cut at once, the others after the grace period', async t => {
  t.equal(SHUTDOWN_GRACE_MS, 1000)
  const { tracker, client } = await setup(t)
  const silent = await client()
  const talking = await client('GET / HTTP/1.1\r\n')
  await until(() => tracker.size === 2)
  // The server must have read the bytes before the drain decides.
  await new Promise(resolve => setTimeout(resolve, 50))
  const started = Date.now()
  tracker.drain(200)
  await once(silent, 'close')
  t.ok(Date.now() - started < 150, 'silent: cut at once')
  t.equal(talking.destroyed, false, 'talking: given the grace period')
  await once(talking, 'close')
  t.ok(Date.now() - started >= 150, 'talking: cut after the grace period')
  await until(() => tracker.size === 0)
  t.equal(tracker.size, 0)
})

t.test('a cancelled drain cuts nothing more', async t => {
  const { tracker, client } = await setup(t)
  const talking = await client('x')
  await until(() => tracker.size === 1)
  await new Promise(resolve => setTimeout(resolve, 50))
  const stop = tracker.drain(50)
  stop()
  await new Promise(resolve => setTimeout(resolve, 150))
  t.equal(talking.destroyed, false)
  t.equal(tracker.size, 1)
})
