import t from 'tap'
import { isLoopbackHost } from '../../src/config/is-loopback-host.js'

t.test('loopback: 127.0.0.0/8, ::1 in any spelling, localhost', async t => {
  for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
    t.ok(isLoopbackHost(host), host)
  }
})

t.test('not loopback: wildcards, other addresses, other names', async t => {
  for (const host of ['::', '0.0.0.0', '[::]', '10.0.0.1', '192.0.2.1', '128.0.0.1', '::2', 'fe80::1', '::ffff:10.0.0.1', '2001:db8::1', 'ops.example.net', 'localhost.example']) {
    t.notOk(isLoopbackHost(host), host)
  }
})
