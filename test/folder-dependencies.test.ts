import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// Issue 8, point 2: no folder of src/ imports a folder that depends on it, so
// the folders form layers (domain and policy below config, tls and acme below
// http...). A file directly in src/ (clock.ts, metrics.ts...) is a node of its own.

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src')

/** Every .ts file under `dir`. */
function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** The node a file of src/ belongs to: its top folder, or its own name when it lies directly in src/. */
function nodeOf (file: string): string {
  const parts = relative(src, file).split(sep)
  return parts.length > 1 ? `${parts[0] as string}/` : (parts[0] as string).replace(/\.ts$/, '')
}

/** Relative specifiers imported or re-exported by `text`, static or dynamic. */
function specifiers (text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(m[1] as string)
  return out
}

/** Edges between nodes, with one example import per edge. */
function folderGraph (): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>()
  for (const file of sourceFiles(src)) {
    const from = nodeOf(file)
    const edges = graph.get(from) ?? new Map<string, string>()
    graph.set(from, edges)
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'))
      if (!target.startsWith(src + sep)) continue
      const to = nodeOf(target)
      if (to !== from && !edges.has(to)) edges.set(to, `${relative(src, file)} imports ${spec}`)
    }
  }
  return graph
}

/** One cycle of the graph as a list of example imports, or undefined when it has none. */
function findCycle (graph: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open')
    path.push(node)
    for (const [next, example] of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = [...path.slice(path.indexOf(next)), next]
        return cycle.slice(0, -1).map((n, i) => graph.get(n)?.get(cycle[i + 1] as string) ?? example)
      }
      if (state.get(next) === undefined) {
        const found = visit(next)
        if (found) return found
      }
    }
    path.pop()
    state.set(node, 'done')
    return undefined
  }
  for (const node of graph.keys()) {
    if (state.get(node) !== undefined) continue
    const found = visit(node)
    if (found) return found
  }
  return undefined
}

t.test('the folders of src/ import each other without cycles', async t => {
  const graph = folderGraph()
  t.ok(graph.size > 5, 'the walk found the folders of src/')
  t.same(findCycle(graph), undefined, 'no folder imports a folder that depends on it')
})

t.test('the walk sees the imports it must see', async t => {
  t.same(specifiers("import a from './a.js'\nimport type { B } from '../b/b.js'\nexport { c } from '../c/c.js'\nawait import('../d/d.js')\nimport 'node:fs'\n"),
    ['./a.js', '../b/b.js', '../c/c.js', '../d/d.js'])
  const cyclic = new Map([['a/', new Map([['b/', 'a/x.ts imports ../b/y.js']])], ['b/', new Map([['a/', 'b/y.ts imports ../a/x.js']])]])
  t.same(findCycle(cyclic), ['a/x.ts imports ../b/y.js', 'b/y.ts imports ../a/x.js'])
  t.equal(findCycle(new Map([['a/', new Map([['b/', '']])], ['b/', new Map()]])), undefined)
})
