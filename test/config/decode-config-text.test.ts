import t from 'tap'
import { decodeConfigText } from '../../src/config/decode-config-text.js'

const HINT = 'save the file as UTF-8, e.g. iconv -f <encoding> -t UTF-8 FILE > FILE.utf8'

t.test('UTF-8, with or without a byte order mark, is decoded', async t => {
  t.same(decodeConfigText(Buffer.from('a: bücher\n')), { ok: true, text: 'a: bücher\n' })
  t.same(decodeConfigText(Buffer.from('\uFEFFa: 1\n')), { ok: true, text: '\uFEFFa: 1\n' })
  t.same(decodeConfigText(Buffer.alloc(0)), { ok: true, text: '' })
})

t.test('byte order marks of UTF-16 and UTF-32 name the encoding', async t => {
  const cases: [number[], string][] = [
    [[0xff, 0xfe, 0x61, 0x00], 'UTF-16 (little-endian)'],
    [[0xfe, 0xff, 0x00, 0x61], 'UTF-16 (big-endian)'],
    [[0xff, 0xfe, 0x00, 0x00], 'UTF-32 (little-endian)'],
    [[0x00, 0x00, 0xfe, 0xff], 'UTF-32 (big-endian)'],
  ]
  for (const [bytes, name] of cases) {
    t.same(decodeConfigText(Buffer.from(bytes)), { ok: false, line: 1, column: 1, message: `the configuration file is ${name} text, not UTF-8`, hint: HINT }, name)
  }
})

t.test('NUL bytes without a byte order mark: UTF-16 or UTF-32', async t => {
  t.match(decodeConfigText(Buffer.from('ab', 'utf16le')), { ok: false, message: /looks like UTF-16 \(little-endian\) or UTF-32/ })
  t.match(decodeConfigText(Buffer.from('ab', 'utf16le').swap16()), { ok: false, message: /looks like UTF-16 \(big-endian\) or UTF-32/ })
})

t.test('other bytes that are not UTF-8 are located at their line and column', async t => {
  t.same(decodeConfigText(Buffer.from('a: 1\nb: caf\xe9\n', 'latin1')), { ok: false, line: 2, column: 7, message: 'the configuration file is not valid UTF-8 (Latin-1 or another legacy encoding?)', hint: HINT })
  t.match(decodeConfigText(Buffer.from([0x61, 0x0a, 0x0a, 0x62, 0xe2, 0x82])), { ok: false, line: 3, column: 2 }, 'a sequence cut at the end of the file')
})
