import t from 'tap'
import { parseReportDateTime } from '../../src/reports/report-date-time.js'

t.test('RFC 3339 date-times become ISO UTC instants', async t => {
  t.strictSame(parseReportDateTime('2016-04-01T00:00:00Z'), { iso: '2016-04-01T00:00:00.000Z', zoned: true })
  t.strictSame(parseReportDateTime('2016-04-01t23:59:59z'), { iso: '2016-04-01T23:59:59.000Z', zoned: true })
  t.strictSame(parseReportDateTime('2016-04-01T02:30:00+02:30'), { iso: '2016-04-01T00:00:00.000Z', zoned: true })
  t.strictSame(parseReportDateTime('2016-03-31T20:00:00-0400'), { iso: '2016-04-01T00:00:00.000Z', zoned: true }, 'offset without a colon')
  t.strictSame(parseReportDateTime('2016-04-01T00:00:00-00:00'), { iso: '2016-04-01T00:00:00.000Z', zoned: true })
  t.strictSame(parseReportDateTime('2016-04-01T00:00:00.1Z'), { iso: '2016-04-01T00:00:00.100Z', zoned: true })
  t.strictSame(parseReportDateTime('2016-04-01T00:00:00.123456Z'), { iso: '2016-04-01T00:00:00.123Z', zoned: true }, 'beyond milliseconds: truncated')
  t.strictSame(parseReportDateTime('2024-02-29T12:00:00Z'), { iso: '2024-02-29T12:00:00.000Z', zoned: true }, 'a leap day')
  t.strictSame(parseReportDateTime('0050-01-01T00:00:00Z'), { iso: '0050-01-01T00:00:00.000Z', zoned: true }, 'year 50 is not 1950')
})

t.test('no zone: read as UTC and flagged', async t => {
  t.strictSame(parseReportDateTime('2016-04-01T00:00:00'), { iso: '2016-04-01T00:00:00.000Z', zoned: false })
  t.strictSame(parseReportDateTime('2016-04-01T23:59:59.999'), { iso: '2016-04-01T23:59:59.999Z', zoned: false })
})

t.test('what is not an instant is refused, not rolled over', async t => {
  for (const bad of [
    '', '2016-04-01', '2016-04-01 00:00:00Z', '1459468800', '2016-4-1T00:00:00Z', ' 2016-04-01T00:00:00Z',
    '2016-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2016-13-01T00:00:00Z', '2016-00-10T00:00:00Z', '2016-04-00T00:00:00Z',
    '2016-04-01T24:00:00Z', '2016-04-01T23:60:00Z', '2016-12-31T23:59:60Z', '2016-04-01T00:00:00+24:00', '2016-04-01T00:00:00+01:60',
    '2016-04-01T00:00:00+1', '2016-04-01T00:00:00ZZ',
  ]) {
    t.equal(parseReportDateTime(bad), undefined, JSON.stringify(bad))
  }
})
