import t from 'tap'
import { exitCode, formatJson, formatTable } from '../../src/check/format-report.js'
import type { DomainReport } from '../../src/check/types.js'

const report = (domain: string, status: DomainReport['status']): DomainReport => ({
  domain,
  checkedAt: '2026-11-28T00:00:00.000Z',
  durationMs: 12,
  status,
  readyForEnforce: status !== 'fail',
  reasons: status === 'fail' ? ['MTA-STS TXT: no record'] : [],
  results: [
    { id: 'sts-txt', name: 'MTA-STS TXT', status: status === 'fail' ? 'fail' : 'pass', reason: status === 'fail' ? 'no record' : 'id matches', ...(status === 'fail' ? { hint: 'publish _mta-sts.x TXT "v=STSv1; id=1"' } : {}) },
    { id: 'tlsrpt-txt', name: 'TLS-RPT TXT', status: status === 'pass' ? 'pass' : 'warn', reason: 'r', hint: 'h' },
  ],
})

t.test('exit codes', async t => {
  t.equal(exitCode([report('a.example', 'pass')]), 0)
  t.equal(exitCode([report('a.example', 'pass'), report('b.example', 'warn')]), 1)
  t.equal(exitCode([report('a.example', 'warn'), report('b.example', 'fail')]), 2)
  t.equal(exitCode([]), 0)
})

t.test('table: a line per check, hints under problems, verdict, summary; colour only when asked', async t => {
  const text = formatTable([report('a.example', 'pass'), report('b.example', 'fail')], false)
  t.equal(text, [
    'a.example',
    '  PASS  MTA-STS TXT  id matches',
    '  PASS  TLS-RPT TXT  r',
    '  => ready for enforce',
    '',
    'b.example',
    '  FAIL  MTA-STS TXT  no record',
    '                     fix: publish _mta-sts.x TXT "v=STSv1; id=1"',
    '  WARN  TLS-RPT TXT  r',
    '                     fix: h',
    '  => not ready for enforce: 1 problem(s) above',
    '',
    '2 domain(s): 1 pass, 0 warn, 1 fail; 1 ready for enforce',
    '',
  ].join('\n'))
  t.notMatch(text, /\u001b\[/, 'no escape codes')
  const coloured = formatTable([report('b.example', 'fail')], true)
  t.match(coloured, '\u001b[31mFAIL\u001b[0m')
  t.match(coloured, '\u001b[33mWARN\u001b[0m')
})

t.test('json', async t => {
  const parsed = JSON.parse(formatJson([report('a.example', 'warn')])) as { exitCode: number; domains: DomainReport[] }
  t.equal(parsed.exitCode, 1)
  t.equal(parsed.domains[0]?.domain, 'a.example')
})
