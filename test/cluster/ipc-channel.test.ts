import t from 'tap'
import { IpcChannel, memoryPortPair, type IpcPort } from '../../src/cluster/ipc-channel.js'

function pair (): [IpcChannel, IpcChannel, [IpcPort, IpcPort]] {
  const ports = memoryPortPair()
  return [new IpcChannel(ports[0]), new IpcChannel(ports[1]), ports]
}

t.test('a request gets the handler\'s answer, sync or async; notices reach every listener', async t => {
  const [a, b] = pair()
  b.handle('double', n => (n as number) * 2)
  b.handle('later', async n => await Promise.resolve(`got ${String(n)}`))
  t.equal(await a.request<number>('double', 21), 42)
  t.equal(await a.request<string>('later', 'x'), 'got x')
  const seen: unknown[] = []
  a.on('tick', p => seen.push(['one', p]))
  a.on('tick', p => seen.push(['two', p]))
  b.notify('tick', { n: 1 })
  b.notify('other', null)
  await new Promise(resolve => setImmediate(resolve))
  t.same(seen, [['one', { n: 1 }], ['two', { n: 1 }]])
})

t.test('payloads are copied as structured clones: Maps and binary data arrive', async t => {
  const [a, b] = pair()
  b.handle('echo', p => p)
  const answer = await a.request<{ m: Map<string, number>, bytes: Uint8Array }>('echo', { m: new Map([['k', 1]]), bytes: Buffer.from('hi') })
  t.equal(answer.m.get('k'), 1)
  t.equal(Buffer.from(answer.bytes).toString(), 'hi')
})

t.test('a handler that throws, or no handler, rejects the caller with MTA_STS_IPC_FAILED', async t => {
  const [a, b] = pair()
  b.handle('fail', () => { throw new Error('disk full') })
  await t.rejects(a.request('fail', null), { code: 'MTA_STS_IPC_FAILED', message: /disk full/ })
  await t.rejects(a.request('nobody', null), { code: 'MTA_STS_IPC_FAILED', message: /no handler for nobody/ })
})

t.test('no answer within the timeout rejects with MTA_STS_IPC_TIMEOUT; a late answer is ignored', async t => {
  const [a, b] = pair()
  let release!: () => void
  const called = new Promise<void>(resolve => {
    b.handle('slow', () => {
      resolve()
      return new Promise<string>(resolve => { release = () => resolve('late') })
    })
  })
  const slow = a.request('slow', null, 20)
  await called
  await t.rejects(slow, { code: 'MTA_STS_IPC_TIMEOUT', message: /slow within 20 ms/ })
  release()
  // The late answer arrives and finds nobody waiting.
  await new Promise(resolve => setTimeout(resolve, 10))
  b.handle('fast', () => 1)
  t.equal(await a.request('fast', null), 1)
})

t.test('close() rejects requests still waiting; sends to a closed port are dropped; foreign messages are ignored', async t => {
  const [a, , ports] = pair()
  const waiting = a.request('never', null, 10_000)
  a.close()
  await t.rejects(waiting, { code: 'MTA_STS_IPC_FAILED', message: /gone/ })
  // Cluster's own messages and anything else without an envelope.
  ports[1].send({ cmd: 'NODE_CLUSTER' })
  ports[1].send('text')
  ports[1].send(null)
  ports[1].send({ ipc: 'response', id: 999, ok: true, payload: 1 })
  ;(ports[0] as IpcPort & { close (): void }).close()
  t.doesNotThrow(() => { a.notify('x', 1) })
  await t.rejects(a.request('x', null, 20), { code: 'MTA_STS_IPC_TIMEOUT' })
})
