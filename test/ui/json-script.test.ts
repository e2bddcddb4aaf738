import t from 'tap'
import { jsonScript, safeJson } from '../../src/ui/json-script.js'

t.test('JSON for a script block: no </script>, no HTML comment, no line separators, same value', async t => {
  const value = { org: '</script><script>alert(1)</script>', c: '<!-- & -->', ls: 'a\u2028b\u2029c' }
  const text = safeJson(value)
  t.notMatch(text, /[<>&\u2028\u2029]/)
  t.match(text, '\\u003c/script\\u003e')
  t.match(text, '\\u0026')
  t.match(text, '\\u2028')
  t.same(JSON.parse(text), value, 'parses back to the same value')
  t.equal(jsonScript('a"b', [1]), '<script type="application/json" id="a&quot;b">[1]</script>')
})
