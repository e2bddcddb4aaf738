import t from 'tap'
import { startsLikeJson } from '../../src/reports/starts-like-json.js'

t.test('a JSON object, after a BOM and white space of every kind; nothing else', async t => {
  for (const yes of ['{}', ' \t\r\n{"a":1}', '\uFEFF{', '\uFEFF \n {']) t.ok(startsLikeJson(Buffer.from(yes)), JSON.stringify(yes))
  for (const no of ['', ' ', '[{}]', '"{"', '\uFEFF', '\uFEFF[', 'x{', '\u00A0{']) t.notOk(startsLikeJson(Buffer.from(no)), JSON.stringify(no))
  t.notOk(startsLikeJson(Buffer.from([0xef, 0xbb])), 'half a BOM')
})
