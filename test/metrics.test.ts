import t from 'tap'
import { ManualClock } from '../src/clock.js'
import { createMetrics } from '../src/metrics.js'

const NOT_AFTER = new Date('2026-04-01T00:00:00Z')

t.test('days to expiry are counted from the injected clock at scrape time', async t => {
  const clock = new ManualClock(new Date('2026-03-01T00:00:00Z'))
  const view = { expiries: () => [{ host: 'mta-sts.example.com', notAfter: NOT_AFTER }], status: () => [{ state: 'valid' }] }
  const metrics = createMetrics(() => view, () => undefined, clock)
  const days = async (): Promise<string | undefined> => /mta_sts_certificate_days_to_expiry\{host="mta-sts\.example\.com"\} (\S+)/.exec(await metrics.registry.metrics())?.[1]
  t.equal(await days(), '31')
  clock.advance(12 * 3600_000)
  t.equal(await days(), '30.5', 'the clock moved half a day')
  t.match(await metrics.registry.metrics(), `mta_sts_certificate_expiry_timestamp_seconds{host="mta-sts.example.com"} ${NOT_AFTER.getTime() / 1000}`)
})

t.test('the system clock by default', async t => {
  const notAfter = new Date(Date.now() + 10 * 86400_000)
  const metrics = createMetrics(() => ({ expiries: () => [{ host: 'h', notAfter }], status: () => [] }))
  const value = Number(/mta_sts_certificate_days_to_expiry\{host="h"\} (\S+)/.exec(await metrics.registry.metrics())?.[1])
  t.ok(value > 9.99 && value <= 10, `about 10 days (${value})`)
})
