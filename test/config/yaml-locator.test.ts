import t from 'tap'
import { Document, LineCounter, parseDocument } from 'yaml'
import { YamlLocator } from '../../src/config/yaml-locator.js'

function locator (text: string): YamlLocator {
  const lines = new LineCounter()
  return new YamlLocator(parseDocument(text, { lineCounter: lines }), lines)
}

const text = [
  'listen:', // 1
  '  https: { host: "::", port: 443 }', // 2
  'tenants:', // 3
  '  example.com:', // 4
  '    mode: enforce', // 5
  '    mx:', // 6
  '      - mx1.example.com', // 7
  '      - "*.example.net"', // 8
  '  empty.example:', // 9
  '  "quoted.example": {mx: [a.example.org]}', // 10
  '',
].join('\n')

t.test('locates values and keys', async t => {
  const loc = locator(text)
  const table: [string[], boolean, number, number][] = [
    [[], false, 1, 1],
    [['listen'], false, 2, 3],
    [['listen'], true, 1, 1],
    [['listen', 'https', 'port'], false, 2, 30],
    [['listen', 'https', 'port'], true, 2, 24],
    [['tenants', 'example.com'], true, 4, 3],
    [['tenants', 'example.com'], false, 5, 5],
    [['tenants', 'example.com', 'mode'], false, 5, 11],
    [['tenants', 'example.com', 'mx'], false, 7, 7],
    [['tenants', 'example.com', 'mx', '0'], false, 7, 9],
    [['tenants', 'example.com', 'mx', '1'], false, 8, 9],
    [['tenants', 'example.com', 'mx', '1'], true, 8, 9], // key: true on a sequence index locates the item
    [['tenants', 'quoted.example'], true, 10, 3],
    [['tenants', 'quoted.example', 'mx', '0'], false, 10, 27],
  ]
  for (const [path, key, line, column] of table) {
    t.same(loc.locate(path, { key }), { line, column }, `${path.join('/')}${key ? ' (key)' : ''}`)
  }
  t.same(loc.locate(['listen']), { line: 2, column: 3 }, 'key defaults to false')
})

t.test('falls back to the deepest existing ancestor', async t => {
  const loc = locator(text)
  const table: [string[], number, number][] = [
    [['nope'], 1, 1], // missing top-level key: the document
    [['tenants', 'missing.example', 'mode'], 4, 3], // missing tenant: the tenants map
    [['tenants', 'example.com', 'mx', '5'], 7, 7], // index past the end: the sequence
    [['tenants', 'example.com', 'mode', 'deeper'], 5, 11], // below a scalar: the scalar
    [['listen', 'https', 'host', '0'], 2, 18],
  ]
  for (const [path, line, column] of table) t.same(loc.locate(path), { line, column }, path.join('/'))
})

t.test('an empty value is located at its key', async t => {
  const loc = locator(text)
  // `  empty.example:` has no value node of its own: the key stands for it.
  t.same(loc.locate(['tenants', 'empty.example']), { line: 9, column: 3 })
  t.same(loc.locate(['tenants', 'empty.example'], { key: true }), { line: 9, column: 3 })
  t.same(loc.locate(['tenants', 'empty.example', 'mode']), { line: 9, column: 3 }, 'below an empty value: its key')
  const last = locator('tenants:\n  example.com:\n    mode:')
  t.same(last.locate(['tenants', 'example.com', 'mode']), { line: 3, column: 5 }, 'also at the very end of the text')
  const flow = locator('a: {b: }\n')
  t.same(flow.locate(['a', 'b']), { line: 1, column: 5 }, 'in a flow mapping')
})

t.test('explicit nulls and empty strings are located at their values', async t => {
  const loc = locator('a: null\nb: ~\nc: ""\nd: \'\'\n')
  t.same(loc.locate(['a']), { line: 1, column: 4 })
  t.same(loc.locate(['b']), { line: 2, column: 4 })
  t.same(loc.locate(['c']), { line: 3, column: 4 })
  t.same(loc.locate(['d']), { line: 4, column: 4 })
})

t.test('non-string keys are matched by their string form', async t => {
  const loc = locator('ports:\n  443: https\n  80: http\n')
  t.same(loc.locate(['ports', '80']), { line: 3, column: 7 })
  t.same(loc.locate(['ports', '80'], { key: true }), { line: 3, column: 3 })
})

t.test('empty documents and positions from offsets', async t => {
  t.same(locator('').locate(['tenants']), { line: 1, column: 1 })
  t.same(locator('# comment\n').locate(['tenants', 'x'], { key: true }), { line: 1, column: 1 })
  const loc = locator('a: 1\nbb: 2\n')
  t.same(loc.at(0), { line: 1, column: 1 })
  t.same(loc.at(5), { line: 2, column: 1 })
  t.same(loc.at(9), { line: 2, column: 5 })
})

t.test('nodes without source ranges fall back to the document start', async t => {
  // A document built in code has no ranges; nothing in it has a position.
  const lines = new LineCounter()
  lines.addNewLine(0)
  const doc = new Document({ tenants: { 'example.com': { mx: ['a.example.com'] } } })
  const loc = new YamlLocator(doc, lines)
  t.same(loc.locate(['tenants', 'example.com'], { key: true }), { line: 1, column: 1 })
  t.same(loc.locate(['tenants', 'example.com', 'mx', '0']), { line: 1, column: 1 })
})
