import t from 'tap'
import { parsePolicy } from '../../src/check/policy-parse.js'

const crlf = (...lines: string[]): string => lines.map(l => `${l}\r\n`).join('')
const GOOD = ['version: STSv1', 'mode: enforce', 'mx: mx1.example.com', 'mx: *.mx.example.net', 'max_age: 604800']

t.test('good policies', async t => {
  const table: [string, string, { mode: string; mx: string[]; maxAge: number }, RegExp[]][] = [
    ['canonical CRLF', crlf(...GOOD), { mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.net'], maxAge: 604800 }, []],
    ['no trailing line ending', GOOD.join('\r\n'), { mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.net'], maxAge: 604800 }, []],
    ['LF only is a note', GOOD.join('\n') + '\n', { mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.net'], maxAge: 604800 }, [/LF line endings/]],
    ['mode none, max_age 0, extension, no space after colon, trailing space', crlf('version:STSv1', 'mode: none ', 'x-ext: some value', 'mx: MX.Example.COM', 'max_age: 0'), { mode: 'none', mx: ['mx.example.com'], maxAge: 0 }, []],
    ['max_age at the limit, testing', crlf('version: STSv1', 'mode: testing', 'mx: a.example', 'max_age: 31557600'), { mode: 'testing', mx: ['a.example'], maxAge: 31557600 }, []],
    ['duplicate unknown key is a note', crlf(...GOOD, 'foo: 1', 'foo: 2'), { mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.net'], maxAge: 604800 }, [/repeats the unknown key "foo"/]],
  ]
  for (const [name, text, policy, notes] of table) {
    const r = parsePolicy(text)
    t.equal(r.ok, true, name)
    t.same(r.policy, policy, name)
    t.same(r.errors, [], name)
    t.equal(r.notes.length, notes.length, `${name}: notes`)
    notes.forEach((n, i) => t.match(r.notes[i], n, name))
  }
})

t.test('bad policies', async t => {
  const table: [string, string, RegExp][] = [
    ['BOM', '\uFEFF' + crlf(...GOOD), /byte order mark/],
    ['blank line', crlf('version: STSv1', 'mode: enforce', '', 'mx: mx1.example.com', 'max_age: 604800'), /line 3 is blank/],
    ['double trailing line ending', crlf(...GOOD) + '\r\n', /line 6 is blank/],
    ['version not first', crlf('mode: enforce', 'version: STSv1', 'mx: mx1.example.com', 'max_age: 604800'), /version must be the first line/],
    ['no version', crlf('mode: enforce', 'mx: mx1.example.com', 'max_age: 604800'), /first line is not "version: STSv1"/],
    ['wrong version', crlf('version: STSv2', 'mode: enforce', 'mx: mx1.example.com', 'max_age: 604800'), /version is "STSv2"/],
    ['duplicate mode', crlf('version: STSv1', 'mode: enforce', 'mode: testing', 'mx: mx1.example.com', 'max_age: 604800'), /line 3 repeats "mode"/],
    ['space before colon', crlf('version: STSv1', 'mode : enforce', 'mx: mx1.example.com', 'max_age: 604800'), /line 2 has a space before the ":"/],
    ['no mx', crlf('version: STSv1', 'mode: none', 'max_age: 604800'), /has no mx/],
    ['bad mx', crlf('version: STSv1', 'mode: enforce', 'mx: mx*.example.com', 'max_age: 604800'), /line 3: mx "mx\*.example.com"/],
    ['max_age too large', crlf('version: STSv1', 'mode: enforce', 'mx: mx1.example.com', 'max_age: 31557601'), /max_age "31557601" is not/],
    ['max_age negative', crlf('version: STSv1', 'mode: enforce', 'mx: mx1.example.com', 'max_age: -1'), /max_age "-1"/],
    ['max_age 11 digits', crlf('version: STSv1', 'mode: enforce', 'mx: mx1.example.com', 'max_age: 00000000001'), /max_age "00000000001"/],
    ['no max_age', crlf('version: STSv1', 'mode: enforce', 'mx: mx1.example.com'), /has no max_age/],
    ['no mode', crlf('version: STSv1', 'mx: mx1.example.com', 'max_age: 1'), /has no mode/],
    ['bad mode', crlf('version: STSv1', 'mode: Enforce', 'mx: mx1.example.com', 'max_age: 1'), /mode "Enforce" is not/],
    ['upper-case key', crlf('version: STSv1', 'Mode: enforce', 'mx: mx1.example.com', 'max_age: 1'), /keys are case-sensitive, "Mode" must be "mode"/],
    ['line without colon', crlf(...GOOD, 'garbage'), /line 6 has no ":"/],
    ['invalid key', crlf(...GOOD, ' indented: x'), /line 6 has an invalid key " indented"/],
    ['empty value', crlf(...GOOD, 'foo:'), /line 6 has an invalid or empty value for "foo"/],
    ['non-ASCII', crlf(...GOOD, 'comment: café'), /non-ASCII/],
    ['bare CR', 'version: STSv1\rmode: enforce\r\nmx: a.example\r\nmax_age: 1\r\n', /carriage return/],
    ['empty', '', /is empty/],
  ]
  for (const [name, text, error] of table) {
    const r = parsePolicy(text)
    t.equal(r.ok, false, name)
    t.equal(r.policy, undefined, name)
    t.ok(r.errors.some(e => error.test(e)), `${name}: ${JSON.stringify(r.errors)}`)
  }
})
