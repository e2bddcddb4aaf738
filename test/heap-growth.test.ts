import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../src/heap-growth.js'

const PROBE = join(import.meta.dirname, 'fixtures', 'heap-growth-probe.ts')
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
