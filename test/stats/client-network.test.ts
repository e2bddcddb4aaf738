import t from 'tap'
import { clientNetwork } from '../../src/stats/client-network.js'

t.test('IPv4 addresses count by /24, IPv4-mapped IPv6 as IPv4', async t => {
  t.equal(clientNetwork('192.0.2.77'), '192.0.2.0/24')
  t.equal(clientNetwork('::ffff:198.51.100.9'), '198.51.100.0/24')
  t.equal(clientNetwork('127.0.0.1'), '127.0.0.0/24')
})

t.test('IPv6 addresses count by /48, in compressed form, whatever way they are written', async t => {
  t.equal(clientNetwork('2001:db8:1:2::5'), '2001:db8:1::/48')
  t.equal(clientNetwork('2001:0db8:0001:ffff:0:0:0:1'), '2001:db8:1::/48', 'leading zeros dropped')
  t.equal(clientNetwork('2001:db8::1'), '2001:db8::/48', 'a zero third group is compressed')
  t.equal(clientNetwork('2001::1'), '2001::/48')
  t.equal(clientNetwork('::1'), '::/48')
  t.equal(clientNetwork('fe80::1%eth0'), 'fe80::/48', 'zone dropped')
  t.equal(clientNetwork('2001:db8:abcd:12:1:2:3:4'), '2001:db8:abcd::/48')
  t.equal(clientNetwork('2001:db8:abcd::'), '2001:db8:abcd::/48')
})
