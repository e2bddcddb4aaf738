import t from 'tap'
import { certificateLabel, checkStatusLabel, formatTime, stateLabel, txtLabel } from '../../src/ui/state-labels.js'

const text = (html: string): string => html.replace(/<[^>]+>/g, '')

t.test('states in words with a symbol', async t => {
  t.equal(stateLabel('bad', '<b>'), '<span class="state state-bad"><span aria-hidden="true">✗ </span>&lt;b&gt;</span>')
  t.same(['pass', 'warn', 'fail'].map(s => text(checkStatusLabel(s as 'pass'))), ['✓ pass', '! warn', '✗ fail'])
  t.equal(text(txtLabel('match')), '✓ DNS id matches')
  t.equal(text(txtLabel('mismatch', 'abc')), '✗ DNS has abc')
  t.equal(text(txtLabel('mismatch')), '✗ DNS has ?')
  t.equal(text(txtLabel('problem')), '✗ DNS record missing or invalid')
  t.equal(text(txtLabel('unknown')), '– DNS not checked yet')
})

t.test('certificates', async t => {
  const notAfter = new Date('2024-07-01T00:00:00Z')
  t.equal(text(certificateLabel(undefined, undefined, 14)), '✗ not loaded')
  t.equal(text(certificateLabel({ host: 'h', state: 'pending', failures: 0 }, undefined, 14)), '! pending')
  t.equal(text(certificateLabel({ host: 'h', state: 'failing', failures: 2, notAfter }, 3, 14)), '✗ failing, expires 2024-07-01')
  t.equal(text(certificateLabel({ host: 'h', state: 'valid', failures: 0, notAfter }, -1, 14)), '✗ expired, expires 2024-07-01')
  t.equal(text(certificateLabel({ host: 'h', state: 'valid', failures: 0, notAfter }, 5, 14)), '! valid, 5 days left, expires 2024-07-01')
  t.equal(text(certificateLabel({ host: 'h', state: 'valid', failures: 0, notAfter }, 50, 14)), '✓ valid, expires 2024-07-01')
  t.equal(text(certificateLabel({ host: 'h', state: 'valid', failures: 0 }, undefined, 14)), '✓ valid')
})

t.test('times in UTC', async t => {
  t.equal(formatTime('2024-06-10T12:34:56Z'), '2024-06-10 12:34 UTC')
  t.equal(formatTime(new Date('2024-06-10T00:00:00Z')), '2024-06-10 00:00 UTC')
  t.equal(formatTime('not a time'), 'not a time')
})
