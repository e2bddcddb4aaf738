import t from 'tap'
import { policyResponseProblem } from '../../src/check/policy-response-problem.js'

const URL = 'https://mta-sts.example.com/.well-known/mta-sts.txt'

t.test('what senders refuse before reading the policy', async t => {
  t.equal(policyResponseProblem({ status: 200, contentType: 'text/plain; charset=utf-8' }, URL), undefined)
  t.same(policyResponseProblem({ status: 301, location: 'https://x.example/' }, URL), { reason: `${URL} redirects (301) to https://x.example/: senders do not follow redirects`, fix: `serve the policy at ${URL} itself` })
  t.match(policyResponseProblem({ status: 302 }, URL), { reason: /to \(no Location\)/ })
  t.same(policyResponseProblem({ status: 404, contentType: 'text/plain' }, URL), { reason: `${URL} answers 404, not 200` })
  t.match(policyResponseProblem({ status: 200 }, URL), { reason: /served with no Content-Type/, fix: 'serve it as text/plain' })
  t.match(policyResponseProblem({ status: 200, contentType: 'text/html' }, URL), { reason: /served with Content-Type text\/html/ })
})
