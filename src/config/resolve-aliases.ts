import { isAlias, isCollection, isPair, isSeq, visit, type Alias, type Document, type Node } from 'yaml'
import { DEFAULT_LIMITS } from './config-limits.js'

/** A problem with a YAML alias (`*name`), at the byte offset of the alias. */
export interface AliasProblem {
  readonly offset: number
  readonly message: string
  readonly hint?: string
}

/**
 * Check every alias of `doc` before it is converted to data, in one pass:
 * aliases to an anchor that is not defined before them (an unquoted
 * `*.example.net` is such an alias), aliases inside the node they name (a
 * cycle), and aliases that together expand to more than `maxNodes` nodes
 * (each alias counts the scalars and collections of the node it repeats,
 * nested aliases included). Node sizes are memoised, so the check is linear
 * in the document, whatever the expansion. Stops at the first alias over the
 * limit: that one alias names the problem.
 *
 * Without problems, each alias is then replaced by the node it names (shared,
 * not copied): `doc.toJS()` then needs no alias lookups of its own (yaml's
 * scan every earlier anchor and alias for each alias, quadratic: 10 s for
 * 20,000 tenants sharing one `mx` list by alias), and positions of values
 * reached through an alias point at the text they come from.
 */
export function resolveAliases (doc: Document, maxNodes: number): AliasProblem[] {
  const problems: AliasProblem[] = []
  const anchors = new Map<string, Node>()
  const targets = new Map<Alias, Node>()
  const sizes = new Map<unknown, number>()
  const inProgress = new Set<unknown>()
  let expanded = 0

  /** Nodes `node` stands for once aliases are expanded; Infinity for a cycle. */
  const size = (node: unknown): number => {
    const known = sizes.get(node)
    if (known !== undefined) return known
    if (isAlias(node)) return size(targets.get(node))
    if (!isCollection(node)) return 1
    if (inProgress.has(node)) return Infinity
    inProgress.add(node)
    let total = 1
    for (const item of node.items) total += isPair(item) ? size(item.key) + size(item.value) : size(item)
    inProgress.delete(node)
    sizes.set(node, total)
    return total
  }

  visit(doc, {
    Node (_key, node) {
      if (isAlias(node)) {
        const offset = node.range?.[0] ?? 0
        const target = anchors.get(node.source)
        if (target === undefined) {
          problems.push({
            offset,
            message: `YAML alias "*${node.source}" names no anchor defined before it`,
            hint: node.source.startsWith('.')
              ? `a value starting with * is read as an alias: quote it, e.g. "*${node.source}"`
              : `define &${node.source} earlier in the file, or quote the value if it is not an alias`,
          })
          return
        }
        targets.set(node, target)
        const added = size(node)
        if (added === Infinity) {
          problems.push({ offset, message: `YAML alias "*${node.source}" stands inside the node it repeats (an endless value)` })
          return visit.BREAK
        }
        expanded += added
        if (expanded > maxNodes) {
          problems.push({
            offset,
            message: `YAML aliases expand to ${expanded} nodes up to here, over the limit of ${maxNodes}`,
            hint: `write a list shared by most tenants once, in defaults.mx, or raise limits.alias_nodes (now ${maxNodes}, default ${DEFAULT_LIMITS.aliasNodes})`,
          })
          return visit.BREAK
        }
      } else if (node.anchor) {
        anchors.set(node.anchor, node)
      }
      return undefined
    },
  })
  if (problems.length === 0 && targets.size > 0) replaceAliases(doc, targets)
  return problems
}

/** Put each alias's target in its place, collections first visited once each. */
function replaceAliases (doc: Document, targets: ReadonlyMap<Alias, Node>): void {
  const resolved = (node: unknown): unknown => (isAlias(node) ? targets.get(node) : node)
  const done = new Set<unknown>()
  const pending: unknown[] = [doc.contents]
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!isCollection(node) || done.has(node)) continue
    done.add(node)
    if (isSeq(node)) {
      node.items = node.items.map(resolved)
      pending.push(...node.items)
    } else {
      for (const pair of node.items) {
        pair.key = resolved(pair.key)
        pair.value = resolved(pair.value)
        pending.push(pair.key, pair.value)
      }
    }
  }
}
