import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import type { ConfigProblem } from '../../src/config/types.js'
import { decodeChunk, decodeProblems, prepareConfig, preparedBuffers, type PreparedTenant } from '../../src/tenants/prepared-config.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'

const yaml = (n: number, extra = ''): string =>
  ['certificates: {issuer: internal}', 'defaults: {mx: [mx.example.net]}', 'tenants:', ...Array.from({ length: n }, (_, i) => `  t${i}.example:${extra}`), ''].join('\n')

t.test('tenants with their policy ids, in chunks of chunkSize, in buffers of their own', async t => {
  const result = parseConfig(yaml(5, ' {max_age: 3600}'), '/c.yaml')
  if (!result.ok) throw new Error('invalid')
  const prepared = prepareConfig(result, 2)
  if (!prepared.ok) throw new Error('not ok')
  t.equal(prepared.tenants.length, 3)
  t.equal(prepared.warnings.length, 3, '5 warnings (max_age below a day), 2 per chunk')
  const tenants = prepared.tenants.flatMap(c => decodeChunk<PreparedTenant>(c))
  const snapshot = buildSnapshot(result.config)
  t.same(tenants.map(x => x.id), snapshot.tenants.map(x => x.id), 'ids as buildSnapshot computes them')
  t.same(tenants.map(({ id: _id, ...rest }) => rest), result.config.tenants)
  t.notOk('tenants' in prepared.config || 'warnings' in prepared.config, 'the long lists travel as chunks only')
  t.equal(prepared.config.file, '/c.yaml')
  const buffers = preparedBuffers(prepared)
  t.equal(buffers.length, 6)
  t.equal(new Set(buffers).size, 6, 'no shared buffer (each can be transferred)')
  const problems = await decodeProblems(prepared.warnings, async () => {})
  t.same(problems, result.config.warnings)
  t.ok(problems.every(p => Object.isFrozen(p)))
})

t.test('an invalid configuration: errors and warnings in chunks', async t => {
  const result = parseConfig(yaml(3, ' {mode: enforced}'), '/c.yaml')
  const prepared = prepareConfig(result, 2)
  if (prepared.ok || result.ok) throw new Error('should be invalid')
  let turns = 0
  const errors = await decodeProblems(prepared.errors, async () => { turns++ })
  t.same(errors, result.errors)
  t.equal(turns, 2, 'one turn per chunk')
  t.same(preparedBuffers(prepared), [...prepared.errors, ...prepared.warnings])
  t.same(await decodeProblems(prepared.warnings, async () => {}), [] as ConfigProblem[])
})
