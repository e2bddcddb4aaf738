import t from 'tap'
import { parseDocument } from 'yaml'
import { configLimits, DEFAULT_LIMITS, DEFAULT_MAX_CONFIG_BYTES, MAX_CONFIG_BYTES_ENV, maxConfigBytes } from '../../src/config/config-limits.js'

t.test('defaults: room for the 100,000 tenants the product serves', async t => {
  t.ok(DEFAULT_LIMITS.tenants >= 100_000)
  t.equal(DEFAULT_LIMITS.mxPerTenant, 1000)
  t.ok(Object.isFrozen(DEFAULT_LIMITS))
  t.same(configLimits(parseDocument('tenants: {}\n')), DEFAULT_LIMITS)
  t.same(configLimits(parseDocument('- a list\n')), DEFAULT_LIMITS)
  t.same(configLimits(parseDocument('limits: [1]\n')), DEFAULT_LIMITS)
})

t.test('the limits section overrides each key it sets with a positive integer', async t => {
  t.same(configLimits(parseDocument('limits: {tenants: 5, mx_per_tenant: 7, alias_nodes: 9}\n')), { tenants: 5, mxPerTenant: 7, aliasNodes: 9 })
  t.same(configLimits(parseDocument('limits: {tenants: 0, mx_per_tenant: x, alias_nodes: 1.5}\n')), DEFAULT_LIMITS, 'invalid values: the schema reports them')
  t.same(configLimits(parseDocument('limits: {tenants: *a}\n')), DEFAULT_LIMITS, 'an alias is not a number here')
})

t.test('the file-size limit comes from the environment', async t => {
  t.same(maxConfigBytes({}), { ok: true, value: DEFAULT_MAX_CONFIG_BYTES })
  t.same(maxConfigBytes({ [MAX_CONFIG_BYTES_ENV]: ' ' }), { ok: true, value: DEFAULT_MAX_CONFIG_BYTES })
  t.same(maxConfigBytes({ [MAX_CONFIG_BYTES_ENV]: '1048576' }), { ok: true, value: 1048576 })
  for (const bad of ['0', '-1', '1.5', '1e6', 'lots', '99999999999999999999']) {
    t.same(maxConfigBytes({ [MAX_CONFIG_BYTES_ENV]: bad }), { ok: false, reason: `MTA_STS_MAX_CONFIG_BYTES=${JSON.stringify(bad)} is not a positive number of bytes` }, bad)
  }
  t.equal(maxConfigBytes().ok, true, 'process.env by default')
})
