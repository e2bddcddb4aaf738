import t from 'tap'
import { dashboardAuthorized, presentedSecret } from '../../src/ui/dashboard-auth.js'

const basic = (userPass: string): string => `Basic ${Buffer.from(userPass).toString('base64')}`

t.test('the secret of a Basic or Bearer header', async t => {
  t.equal(presentedSecret(basic('ops:pw')), 'pw')
  t.equal(presentedSecret(basic('ops:p:w')), 'p:w', 'the password may hold colons')
  t.equal(presentedSecret(basic(':pw')), 'pw', 'empty user name')
  t.equal(presentedSecret(`basic  ${Buffer.from('u:ü').toString('base64')} `), 'ü', 'UTF-8, case and spaces')
  t.equal(presentedSecret('Bearer tok'), 'tok')
  t.equal(presentedSecret(basic('no colon')), undefined)
  t.equal(presentedSecret('Basic %%%'), undefined)
  t.equal(presentedSecret(undefined), undefined)
  t.equal(presentedSecret('Negotiate x'), undefined)
})

t.test('any of the passwords opens; none configured: open', async t => {
  t.ok(dashboardAuthorized(undefined, []))
  t.ok(dashboardAuthorized(basic('u:one'), ['one', 'two']))
  t.ok(dashboardAuthorized(basic('u:two'), ['one', 'two']))
  t.ok(dashboardAuthorized('Bearer two', ['one', 'two']))
  t.notOk(dashboardAuthorized(basic('u:three'), ['one', 'two']))
  t.notOk(dashboardAuthorized(undefined, ['one']))
  t.notOk(dashboardAuthorized(basic('u:'), ['']), 'an empty password (an empty password file) locks rather than opens')
  t.notOk(dashboardAuthorized(basic('u:'), ['', 'x']))
  t.notOk(dashboardAuthorized('Basic', ['x']), 'no secret at all never matches')
})
