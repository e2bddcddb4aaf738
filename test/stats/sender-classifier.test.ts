import t from 'tap'
import { BUILTIN_SENDERS, OTHER_SENDER } from '../../src/stats/builtin-senders.js'
import { SenderClassifier } from '../../src/stats/sender-classifier.js'

t.test('built-in classes recognise senders that name themselves; anything else is other', async t => {
  const c = new SenderClassifier([])
  t.equal(c.classify('Mozilla/5.0 (compatible; Google-MTA-STS)', '192.0.2.1'), 'google')
  t.equal(c.classify('Microsoft Exchange MTA-STS', '192.0.2.1'), 'microsoft')
  t.equal(c.classify('postfix-mta-sts-resolver/1.4', '192.0.2.1'), 'postfix')
  t.equal(c.classify('Stalwart Mail Server', '192.0.2.1'), 'stalwart')
  t.equal(c.classify('Python/3.11 aiohttp/3.9', '192.0.2.1'), OTHER_SENDER)
  t.equal(c.classify(undefined, '192.0.2.1'), OTHER_SENDER, 'no User-Agent')
  t.equal(c.classify('eximious-client', '192.0.2.1'), OTHER_SENDER, 'whole words only where a name is short')
  t.equal(c.classify('Mozilla/5.0 (compatible; Google-MTA-STS)', '192.0.2.1'), 'google', 'from the cache')
  t.ok(BUILTIN_SENDERS.every(rule => Object.isFrozen(rule)))
})

t.test('configured rules come first, by User-Agent or by address range (IPv4, IPv6, mapped)', async t => {
  const c = new SenderClassifier([
    { name: 'acme-mail', userAgent: '^AcmeMTA/', networks: [] },
    { name: 'big-provider', networks: ['203.0.113.0/24', '2001:db8:42::/48', '198.51.100.7'] },
    { name: 'google-override', userAgent: 'Google', networks: [] },
  ])
  t.equal(c.classify('AcmeMTA/2.0', '192.0.2.1'), 'acme-mail')
  t.equal(c.classify('curl/8', '203.0.113.200'), 'big-provider')
  t.equal(c.classify(undefined, '::ffff:203.0.113.5'), 'big-provider', 'IPv4-mapped address')
  t.equal(c.classify(undefined, '2001:db8:42:1::9'), 'big-provider')
  t.equal(c.classify(undefined, '198.51.100.7'), 'big-provider', 'a single address')
  t.equal(c.classify(undefined, '198.51.100.8'), OTHER_SENDER)
  t.equal(c.classify('Google-MTA-STS', '192.0.2.1'), 'google-override', 'before the built-in class')
  t.equal(c.classify('postfix', '192.0.2.1'), 'postfix', 'built-ins still apply')
  t.equal(c.classify('unknown', '192.0.2.1'), OTHER_SENDER)
})

t.test('the User-Agent cache is bounded: it starts over when full', async t => {
  const c = new SenderClassifier([], [{ name: 'x', userAgent: '^x', networks: [] }])
  let wrong = 0
  for (let i = 0; i < 2500; i++) if (c.classify(`${i % 2 === 0 ? 'x' : 'y'}-${i}`, '192.0.2.1') !== (i % 2 === 0 ? 'x' : OTHER_SENDER)) wrong++
  t.equal(wrong, 0, '2,500 distinct agents classified right')
  t.equal(c.classify('x-0', '192.0.2.1'), 'x')
})

t.test('a range that does not parse is skipped (the configuration loader reports it)', async t => {
  const c = new SenderClassifier([{ name: 'bad', networks: ['not-a-network'] }], [])
  t.equal(c.classify('anything', '192.0.2.1'), OTHER_SENDER)
})
