import t from 'tap'
import { MAX_WORKERS, parseWorkers } from '../../src/cluster/parse-workers.js'

t.test('--workers: 1 to 64, or auto (one per CPU, at least 1, at most 64)', async t => {
  t.equal(parseWorkers('1'), 1)
  t.equal(parseWorkers('64'), MAX_WORKERS)
  for (const bad of ['0', '65', '-1', '1.5', 'two', '', ' 2']) t.equal(parseWorkers(bad), undefined, JSON.stringify(bad))
  t.equal(parseWorkers('auto', 2), 2)
  t.equal(parseWorkers('auto', 0), 1)
  t.equal(parseWorkers('auto', 200), MAX_WORKERS)
  t.ok((parseWorkers('auto') ?? 0) >= 1)
})
