import t from 'tap'
import { MAX_DNS_NAME, tooLongTenantName } from '../../src/config/too-long-tenant-name.js'

const domain = (length: number): string => ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), ''].join('.') + 'd'.repeat(length - 196) + '.com'

t.test('every derived name fits up to 242 characters', async t => {
  t.equal(MAX_DNS_NAME, 253)
  t.equal(tooLongTenantName('example.com'), undefined)
  t.equal(tooLongTenantName(domain(242)), undefined)
})

t.test('the first name that does not fit is returned', async t => {
  t.equal(tooLongTenantName(domain(243)), `_smtp._tls.${domain(243)}`)
  t.equal(tooLongTenantName(domain(245)), `_mta-sts.${domain(245)}`)
  t.equal(tooLongTenantName(domain(246)), `mta-sts.${domain(246)}`)
})
