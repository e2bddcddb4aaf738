import t from 'tap'
import { policyCertificateExpiry, UNMANAGED_EXPIRY_WARNING_DAYS } from '../../src/check/policy-certificate-expiry.js'

const DAY = 86_400_000
const HOST = 'mta-sts.example.com'
const notBefore = new Date('2026-01-01T00:00:00Z')
const cert = { notBefore, notAfter: new Date(notBefore.getTime() + 90 * DAY), fingerprint: 'AA:BB' }
const at = (days: number): Date => new Date(notBefore.getTime() + days * DAY)

t.test('managed: on schedule until a third of the lifetime is left, or the manager\'s own point', async t => {
  t.match(policyCertificateExpiry(HOST, cert, { managed: true, now: at(59) }), { warn: false, renewAt: at(60) })
  t.match(policyCertificateExpiry(HOST, cert, { managed: true, now: at(60) }), { warn: true, renewAt: at(60), reason: /was due for renewal at 2026-03-02T00:00:00\.000Z and is still served; it expires in 30 day\(s\)/ })
  const plan = { fingerprint: 'AA:BB', renewAt: at(50), lastError: 'rate limited' }
  t.match(policyCertificateExpiry(HOST, cert, { managed: true, plan, now: at(51) }), { warn: true, renewAt: at(50), reason: /; last attempt: rate limited$/ })
  t.match(policyCertificateExpiry(HOST, cert, { managed: true, plan: { ...plan, fingerprint: 'CC:DD' }, now: at(51) }), { warn: false, renewAt: at(60) }, 'a plan for another certificate does not apply')
})

t.test('unmanaged: within 7 days of expiry', async t => {
  t.equal(UNMANAGED_EXPIRY_WARNING_DAYS, 7)
  t.same(policyCertificateExpiry(HOST, cert, { managed: false, now: at(82) }), { warn: false })
  t.match(policyCertificateExpiry(HOST, cert, { managed: false, now: at(83) }), { warn: true, reason: /expires in 7 day\(s\)/ })
  t.match(policyCertificateExpiry(HOST, cert, { managed: false, now: at(84) }), { warn: true, reason: /expires in 6 day\(s\)/, hint: /issuer files/ })
})
