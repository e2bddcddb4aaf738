import t from 'tap'
import { escapeHtml } from '../../src/ui/escape-html.js'

t.test('escapes what could end text or a quoted attribute', async t => {
  t.equal(escapeHtml('<script>alert(1)</script>'), '&lt;script&gt;alert(1)&lt;/script&gt;')
  t.equal(escapeHtml(`"><img src=x onerror='a'>&amp;`), '&quot;&gt;&lt;img src=x onerror=&#39;a&#39;&gt;&amp;amp;')
  t.equal(escapeHtml(42), '42')
  t.equal(escapeHtml('plain ✓ text'), 'plain ✓ text')
})
