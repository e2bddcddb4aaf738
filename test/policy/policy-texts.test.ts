import t from 'tap'
import { policyId } from '../../src/policy/policy-id.js'
import { PolicyTexts } from '../../src/policy/policy-texts.js'
import { renderPolicy, type PolicyFields } from '../../src/policy/render-policy.js'

const base: PolicyFields = { mode: 'testing', mx: ['mx1.example.com'], maxAge: 604800 }

t.test('each distinct policy is rendered into one shared text, body and id', async t => {
  const texts = new PolicyTexts()
  const a = texts.of(base)
  t.equal(a.policy, renderPolicy(base))
  t.equal(a.body.toString('ascii'), a.policy)
  t.equal(a.id, policyId(a.policy))
  t.ok(Object.isFrozen(a))
  const same = texts.of({ ...base, mx: [...base.mx] })
  t.equal(same, a, 'equal fields (another mx array): the same object')
  t.equal(same.body, a.body)
  const enforce = texts.of({ ...base, mode: 'enforce' })
  t.not(enforce.id, a.id)
  t.equal(enforce.id, policyId(renderPolicy({ ...base, mode: 'enforce' })))
  t.equal(texts.size, 2)
})

t.test('an id computed elsewhere is used for a text not seen yet', async t => {
  const texts = new PolicyTexts()
  t.equal(texts.of(base, 'precomputed').id, 'precomputed')
  t.equal(texts.of(base).id, 'precomputed', 'and kept for that text')
  t.equal(new PolicyTexts().of(base).id, policyId(renderPolicy(base)), 'another build computes its own')
})
