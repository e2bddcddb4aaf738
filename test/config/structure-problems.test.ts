import t from 'tap'
import { LineCounter, parseDocument } from 'yaml'
import { parseConfig } from '../../src/config/load-config.js'
import { flowNestingTooDeep, MAX_NESTING_DEPTH, structureProblems } from '../../src/config/structure-problems.js'

function problemsOf (text: string): ReturnType<typeof structureProblems> {
  const lines = new LineCounter()
  return structureProblems(parseDocument(text, { lineCounter: lines }), lines)
}

t.test('nesting up to the limit passes; one level more is reported once, where it starts', async t => {
  const nest = (n: number): string => 'a: ' + '[x, '.repeat(n - 1) + 'y' + ']'.repeat(n - 1) + '\n'
  t.same(problemsOf(nest(MAX_NESTING_DEPTH)), [], 'the root map plus 31 lists is 32 levels')
  const deep = problemsOf(nest(MAX_NESTING_DEPTH + 1))
  t.equal(deep.length, 1)
  t.match(deep[0], { line: 1, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` })
  const blocks = ['tenants:']
  for (let i = 1; i <= MAX_NESTING_DEPTH; i++) blocks.push(`${' '.repeat(i)}k${i}:`)
  t.match(problemsOf(blocks.join('\n') + '\n'), [{ line: MAX_NESTING_DEPTH + 1 }], 'block mappings count as well')
})

t.test('mappings and lists as keys are refused, also inside flow lists', async t => {
  t.match(problemsOf('? [a, b]\n: 1\n'), [{ line: 1, column: 3, message: /key must be a plain value/ }])
  t.match(problemsOf('x: [{a: 1}: 2]\n'), [{ line: 1, column: 5 }])
  t.match(problemsOf('x: [a: 1, b]\n'), [], 'a pair with a plain key inside a list is fine')
  t.same(problemsOf(''), [], 'an empty document')
})

t.test('a key repeated in the same mapping, at any depth and in flow mappings; the same key in two mappings is fine', async t => {
  const duplicate = 'duplicate key (each key may appear once in a mapping)'
  t.same(problemsOf('a: 1\nb: {x: 1, y: [{k: 1, k: 2}], x: 3}\na: 2\n'), [
    { line: 3, column: 1, message: duplicate },
    { line: 2, column: 30, message: duplicate },
    { line: 2, column: 22, message: duplicate },
  ])
  t.same(problemsOf('a: {k: 1}\nb: {k: 1}\nc: [k: 1, k: 2]\n'), [], 'different mappings; single pairs inside a list')
  t.match(problemsOf('? [a]\n: 1\n? [a]\n: 2\n'), [{ message: /key must be a plain value/ }, { message: /key must be a plain value/ }], 'collection keys are refused, not compared')
})

t.test('the text scan counts only brackets that open a flow collection', async t => {
  t.equal(flowNestingTooDeep('a: ' + '['.repeat(40), 32)?.offset, 35)
  t.equal(flowNestingTooDeep('a: [[[]]]\nb: [[[]]]\n', 3), undefined, 'closing brackets bring the depth down')
  t.equal(flowNestingTooDeep('a: [[[[]]]]\n', 3)?.offset, 6)
  t.equal(flowNestingTooDeep('a: x[[[[[[\n', 3), undefined, 'brackets inside plain text')
  t.equal(flowNestingTooDeep('a: "[[[[\\"[[["\nb: \'[[[[\'\'[[[\'\n', 3), undefined, 'brackets inside quoted strings')
  t.equal(flowNestingTooDeep("a: it's [[[[\n", 3)?.offset, 11, 'an apostrophe inside plain text starts no string')
  t.equal(flowNestingTooDeep('a: 1 # [[[[[\nb: 2 #', 3), undefined, 'brackets inside comments')
  t.equal(flowNestingTooDeep('a: b#[[[[[\n', 3), undefined, 'a # inside plain text is no comment, and its brackets are plain text')
  t.equal(flowNestingTooDeep('- [[[[\n', 3)?.offset, 5, 'after a list dash')
})

t.test('parseConfig: deep or key-shaped input is one clear error, fast, never a throw', async t => {
  // Before this check, 1,500 levels of `{a: ` threw a RangeError from the duplicate-key visitor,
  // and 5,000 levels of `{` took 35 s and 1.4 GB to validate.
  for (const text of ['tenants: ' + '{a: '.repeat(1500), 'tenants: ' + '{'.repeat(5000), 'tenants: ' + '['.repeat(1_000_000)]) {
    const result = parseConfig(text, '/deep.yaml')
    t.equal(result.ok, false)
    t.match(result.ok ? [] : result.errors, [{ file: '/deep.yaml', line: 1, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels`, hint: /unbalanced/ }])
  }
  const keyed = parseConfig('tenants:\n  ? {a: 1}\n  : {mx: [mx.example.com]}\n', '/keys.yaml')
  t.match(keyed.ok ? [] : keyed.errors, [{ line: 2, column: 5, message: /key must be a plain value/ }])
})
