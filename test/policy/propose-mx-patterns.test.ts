import t from 'tap'
import { isNarrowParent, proposeMxPatterns } from '../../src/policy/propose-mx-patterns.js'

t.test('a wildcard only for 3+ hosts under a parent below the registrable domain', async t => {
  t.same(proposeMxPatterns(['mx1.example.com', 'mx2.example.com']).map(p => p.pattern), ['mx1.example.com', 'mx2.example.com'], 'two hosts: exact names')
  const google = proposeMxPatterns(['aspmx.l.google.com', 'alt1.aspmx.l.google.com', 'alt2.aspmx.l.google.com', 'alt3.aspmx.l.google.com'])
  t.same(google.map(p => p.pattern), ['aspmx.l.google.com', '*.aspmx.l.google.com'])
  t.same(google[1]?.covers, ['alt1.aspmx.l.google.com', 'alt2.aspmx.l.google.com', 'alt3.aspmx.l.google.com'])
  t.match(google[1]?.why, /^3 MX hosts .* share aspmx\.l\.google\.com/)
  const shallow = proposeMxPatterns(['a.example.com', 'b.example.com', 'c.example.com'])
  t.same(shallow.map(p => p.pattern), ['a.example.com', 'b.example.com', 'c.example.com'])
  t.match(shallow[0]?.why, /no wildcard for the 3 hosts under example\.com/)
  t.notOk(shallow[1]?.why)
  t.same(proposeMxPatterns(['a.example.co.uk', 'b.example.co.uk', 'c.example.co.uk']).map(p => p.pattern)[0], 'a.example.co.uk', 'example.co.uk is registrable')
  t.same(proposeMxPatterns(['a.mx.example.co.uk', 'b.mx.example.co.uk', 'c.mx.example.co.uk']).map(p => p.pattern), ['*.mx.example.co.uk'])
})

t.test('narrow parents', async t => {
  t.ok(isNarrowParent('mx.example.net'))
  t.notOk(isNarrowParent('example.net'))
  t.notOk(isNarrowParent('example.com.au'), 'a country code with a short second level needs four labels')
  t.ok(isNarrowParent('mx.example.com.au'))
  t.ok(isNarrowParent('mail.example.de'), 'a country code with a long second level: three labels suffice')
})
