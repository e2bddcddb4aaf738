import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { HEAP_GROWING_PERCENT, limitHeapGrowth, SERVING_NODE_FLAG, servingExecArgv } from '../src/heap-settings.js'

const PROBE = join(import.meta.dirname, 'fixtures', 'heap-settings-probe.ts')
// Only the TypeScript loader: the child's coverage is not what is measured.
const LOADER = process.execArgv.filter(a => a.includes('@tapjs/typescript') || a === '--enable-source-maps')

async function peakHeap (mode: 'limit' | 'default'): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [...LOADER, PROBE, mode], { timeout: 60_000 })
  return (JSON.parse(stdout) as { peak: number }).peak
}

t.test('the limit holds the heap near its live objects where V8 alone lets it double', async t => {
  const [limited, unlimited] = [await peakHeap('limit'), await peakHeap('default')]
  t.ok(limited < unlimited * 0.75, `peak heap ${Math.round(limited / 2 ** 20)} MiB with the limit, ${Math.round(unlimited / 2 ** 20)} MiB without`)
})

t.test('an operator\'s own --heap-growing-percent is left alone; otherwise the limit is applied', async t => {
  t.equal(limitHeapGrowth(['--heap-growing-percent=80']), undefined)
  t.equal(limitHeapGrowth(['--heap_growing_percent', '80']), undefined)
  t.equal(limitHeapGrowth(['--heap-growing-percentage=1']), HEAP_GROWING_PERCENT, 'another flag is not the same one')
  t.equal(limitHeapGrowth(), HEAP_GROWING_PERCENT, 'tap starts this process without it')
})

t.test('workers get the serving flag unless the operator set the semi-space size', async t => {
  t.same(servingExecArgv([], ''), [SERVING_NODE_FLAG])
  t.same(servingExecArgv(['--enable-source-maps'], '--max-old-space-size=2048'), ['--enable-source-maps', SERVING_NODE_FLAG])
  t.same(servingExecArgv(['--max-semi-space-size=16'], ''), ['--max-semi-space-size=16'], 'own flag on the command line')
  t.same(servingExecArgv([SERVING_NODE_FLAG], ''), [SERVING_NODE_FLAG], 'not twice (the Dockerfile starts the primary with it)')
  t.same(servingExecArgv([], '--trace-warnings --max_semi_space_size=8'), [], 'own flag in NODE_OPTIONS')
  t.same(servingExecArgv(['--max-semi-space-sizes=1'], ''), ['--max-semi-space-sizes=1', SERVING_NODE_FLAG], 'another flag is not the same one')
  const saved = process.env.NODE_OPTIONS
  process.env.NODE_OPTIONS = '--max-semi-space-size=2'
  t.teardown(() => { if (saved === undefined) delete process.env.NODE_OPTIONS; else process.env.NODE_OPTIONS = saved })
  t.same(servingExecArgv([]), [], 'NODE_OPTIONS is read from the environment by default')
})

t.test('the Dockerfile and npm start launch the service with the serving flag', async t => {
  const root = join(import.meta.dirname, '..')
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  t.match(dockerfile, `ENTRYPOINT ["node", "${SERVING_NODE_FLAG}", "dist/main.js"]`)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }
  t.match(pkg.scripts.start, `node ${SERVING_NODE_FLAG} dist/main.js serve`)
})
