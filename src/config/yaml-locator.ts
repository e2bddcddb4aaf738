import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node, type Pair, type YAMLMap } from 'yaml'

/** A 1-based line and column in the YAML text. */
export interface Position {
  readonly line: number
  readonly column: number
}

/**
 * Finds where a value (or its key) stands in a parsed YAML document, so every
 * configuration problem can name file:line:column.
 */
export class YamlLocator {
  readonly #doc: Document
  readonly #lines: LineCounter
  /** Key index per mapping, built on first use: locating thousands of tenants stays linear. */
  readonly #index = new WeakMap<object, Map<string, Pair>>()

  constructor (doc: Document, lines: LineCounter) {
    this.#doc = doc
    this.#lines = lines
  }

  /** Position of a byte offset of the source text. */
  at (offset: number): Position {
    const { line, col } = this.#lines.linePos(offset)
    return { line, column: col }
  }

  /**
   * Position of the node at `path` (map keys and sequence indexes). With
   * `key: true` the key of the last segment is located instead of its value.
   * Falls back to the deepest existing ancestor, then to the document start.
   */
  locate (path: readonly string[], opts: { key?: boolean } = {}): Position {
    let node: unknown = this.#doc.contents
    let offset = rangeStart(node) ?? 0
    for (let i = 0; i < path.length; i++) {
      const segment = path[i] as string
      if (isMap(node)) {
        const pair = this.#keys(node).get(segment)
        if (!pair) break
        const last = i === path.length - 1
        const keyStart = rangeStart(pair.key)
        if (last && opts.key && keyStart !== undefined) return this.at(keyStart)
        const valueStart = rangeStart(pair.value)
        // An empty value (`mode:`) has no node of its own: point at its key.
        offset = valueStart ?? keyStart ?? offset
        node = pair.value
      } else if (isSeq(node)) {
        const item = node.items[Number(segment)]
        if (item === undefined) break
        offset = rangeStart(item) ?? offset
        node = item
      } else {
        break
      }
    }
    return this.at(offset)
  }

  #keys (map: YAMLMap): Map<string, Pair> {
    let index = this.#index.get(map)
    if (!index) {
      index = new Map()
      for (const pair of map.items) {
        const key = String(isScalar(pair.key) ? pair.key.value : pair.key)
        // The first occurrence wins, as for lookups of duplicated keys before.
        if (isPair(pair) && !index.has(key)) index.set(key, pair)
      }
      this.#index.set(map, index)
    }
    return index
  }
}

function rangeStart (node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range
  // yaml gives an empty value (`mode:`) a zero-length node past the key: treat it as absent.
  if (!range || (range[0] === range[1] && isScalar(node) && node.value === null)) return undefined
  return range[0]
}
