import t from 'tap'
import { stsTxtRecord, tlsRptTxtRecord } from '../../src/dns/txt-records.js'

t.test('the _mta-sts TXT record carries the policy id', async t => {
  t.same(stsTxtRecord('example.com', 'abc123'), { name: '_mta-sts.example.com', value: 'v=STSv1; id=abc123' })
})

t.test('the _smtp._tls TXT record lists the report URIs, rua first', async t => {
  t.same(tlsRptTxtRecord('example.com', ['mailto:tls@example.com', 'https://r.example/tls']), {
    name: '_smtp._tls.example.com',
    value: 'v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/tls',
  })
})
