import t from 'tap'
import { parseNetwork } from '../../src/config/parse-network.js'

t.test('CIDR ranges and single addresses; anything else is undefined', async t => {
  t.same(parseNetwork('192.0.2.0/24'), { address: '192.0.2.0', family: 'ipv4', prefix: 24 })
  t.same(parseNetwork(' 2001:db8::/32 '), { address: '2001:db8::', family: 'ipv6', prefix: 32 })
  t.same(parseNetwork('198.51.100.7'), { address: '198.51.100.7', family: 'ipv4', prefix: 32 })
  t.same(parseNetwork('::1'), { address: '::1', family: 'ipv6', prefix: 128 })
  for (const bad of ['192.0.2.0/33', '2001:db8::/129', '192.0.2.0/x', '192.0.2.0/', 'example.com/24', '1.2.3.4/8/1', '', '192.0.2.0/-1']) {
    t.equal(parseNetwork(bad), undefined, bad)
  }
})
