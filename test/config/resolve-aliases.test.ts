import t from 'tap'
import { Document, isAlias, LineCounter, parseDocument, visit } from 'yaml'
import { resolveAliases } from '../../src/config/resolve-aliases.js'

const parse = (text: string): Document => parseDocument(text, { lineCounter: new LineCounter() })

t.test('without problems, aliases are replaced by the nodes they name, and the data is unchanged', async t => {
  const doc = parse('a: &a [x, y]\nb: &b {k: *a}\nc: [*b, *a]\n')
  t.same(resolveAliases(doc, 100), [])
  let aliases = 0
  visit(doc, { Alias () { aliases++ } })
  t.equal(aliases, 0, 'no alias left')
  t.same(doc.toJS(), { a: ['x', 'y'], b: { k: ['x', 'y'] }, c: [{ k: ['x', 'y'] }, ['x', 'y']] })
})

t.test('a redefined anchor: each alias takes the latest definition before it', async t => {
  const doc = parse('a: &x 1\nb: *x\nc: &x 2\nd: *x\n')
  t.same(resolveAliases(doc, 100), [])
  t.same(doc.toJS(), { a: 1, b: 1, c: 2, d: 2 })
})

t.test('the expansion counts scalars and collections, nested aliases included, and stops at the limit', async t => {
  // *a adds 3 nodes (the list and 2 scalars); *b adds 1 + 3 + 3.
  t.same(resolveAliases(parse('a: &a [x, y]\nb: &b [*a, *a]\nc: *b\n'), 13), [])
  const [problem, ...more] = resolveAliases(parse('a: &a [x, y]\nb: &b [*a, *a]\nc: *b\n'), 12)
  t.same(more, [])
  t.equal(problem?.offset, 'a: &a [x, y]\nb: &b [*a, *a]\nc: '.length)
  t.match(problem?.message, 'YAML aliases expand to 13 nodes up to here, over the limit of 12')
})

t.test('a billion laughs is measured without being expanded', async t => {
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
  for (let i = 1; i < 30; i++) levels.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]`)
  const problems = resolveAliases(parse(levels.join('\n') + '\n'), 1_000_000)
  t.equal(problems.length, 1)
  t.match(problems[0]?.message, /over the limit of 1000000/)
})

t.test('unresolved aliases are all reported, with a hint to quote a wildcard, and nothing is replaced', async t => {
  const doc = parse('mx: [*.mx.example.net, *other]\nok: &a 1\nb: *a\n')
  const problems = resolveAliases(doc, 100)
  t.same(problems.map(p => [p.offset, p.message, p.hint]), [
    [5, 'YAML alias "*.mx.example.net" names no anchor defined before it', 'a value starting with * is read as an alias: quote it, e.g. "*.mx.example.net"'],
    [23, 'YAML alias "*other" names no anchor defined before it', 'define &other earlier in the file, or quote the value if it is not an alias'],
  ])
  let aliases = 0
  visit(doc, { Alias () { aliases++ } })
  t.equal(aliases, 3, 'the document is left as it was')
})

t.test('an alias inside the node it names is a cycle', async t => {
  const problems = resolveAliases(parse('a: &a [1, [2, *a]]\n'), 100)
  t.same(problems.map(p => [p.offset, p.message]), [[14, 'YAML alias "*a" stands inside the node it repeats (an endless value)']])
})

t.test('an alias without a source range (a document built in code) is located at offset 0', async t => {
  const doc = new Document({ a: [1] })
  const alias = doc.createAlias(doc.createNode('x'), 'nope')
  doc.set('b', alias)
  t.ok(isAlias(doc.get('b', true)))
  t.same(resolveAliases(doc, 100).map(p => p.offset), [0])
})
