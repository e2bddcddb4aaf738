import { isCollection, isMap, isNode, isPair, isScalar, type Document, type LineCounter, type Node } from 'yaml'

/**
 * Deepest nesting of mappings and lists a configuration may have. The deepest
 * real path is about 5 (`certificates.acme.eab.kid`); a file nested thousands
 * deep is an attack on the parser (converting it costs minutes and gigabytes).
 */
export const MAX_NESTING_DEPTH = 32

/** A structural problem of a parsed document, located by line and column. */
export interface StructureProblem {
  readonly line: number
  readonly column: number
  readonly message: string
  readonly hint?: string
}

/**
 * Problems no configuration can have, found before anything converts or
 * visits the document recursively: nesting deeper than
 * {@link MAX_NESTING_DEPTH}, mappings or lists used as keys (the YAML
 * `? [a, b]: x` form, which would be stringified), and keys that repeat an
 * earlier key of the same mapping. Walks with an explicit stack, so depth
 * cannot overflow the call stack; one Set per mapping keeps the duplicate
 * check linear (yaml's own `uniqueKeys` compares each key with every earlier
 * one: minutes at 100,000 tenants).
 */
export function structureProblems (doc: Document, lines: LineCounter): StructureProblem[] {
  const problems: StructureProblem[] = []
  const at = (node: Node, message: string, hint?: string): void => {
    const { line, col } = lines.linePos(node.range?.[0] ?? 0)
    problems.push({ line, column: col, message, ...(hint === undefined ? {} : { hint }) })
  }
  const stack: Array<[unknown, number]> = [[doc.contents, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number]
    if (!isCollection(node)) continue
    if (depth > MAX_NESTING_DEPTH) {
      at(node, `nesting deeper than ${MAX_NESTING_DEPTH} levels`, 'a configuration needs about 5; check for unbalanced [ or {')
      // One report per file: a runaway nesting would otherwise repeat it per level.
      break
    }
    const keys = isMap(node) ? new Set<string>() : undefined
    // Flow lists may hold pairs too (`[a: b]`), so pairs are handled wherever they appear.
    for (const item of node.items as unknown[]) {
      if (!isPair(item)) {
        stack.push([item, depth + 1])
        continue
      }
      if (isCollection(item.key)) {
        at(item.key, 'a key must be a plain value, not a mapping or list', 'write the key as text')
        continue
      }
      if (keys !== undefined) {
        const key = isScalar(item.key) ? String(item.key.value) : ''
        if (keys.has(key) && isNode(item.key)) at(item.key, 'duplicate key (each key may appear once in a mapping)')
        keys.add(key)
      }
      if (isNode(item.value)) stack.push([item.value, depth + 1])
    }
  }
  return problems
}

/**
 * Where flow collections (`[` and `{`) in `text` first nest deeper than
 * `max`, found by one pass over the text before the YAML parser sees it
 * (the parser itself spends seconds on a few hundred KB of `[[[[`). Quoted
 * strings and comments are skipped; a bracket counts only where a flow
 * collection can start (after blank space, `:`, `,` or another bracket), so
 * `a[1` in plain text does not.
 */
export function flowNestingTooDeep (text: string, max = MAX_NESTING_DEPTH): { offset: number } | undefined {
  let depth = 0
  let quote = ''
  let previous = '\n'
  // Whether the character before this one ends a token: blank space, `:`, `,`, `-`, or a
  // bracket that opened a collection (not one inside plain text like `x[[`).
  let afterToken = true
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++
      else if (c === quote) quote = ''
      previous = c
      afterToken = false
      continue
    }
    if (c === '#' && (previous === ' ' || previous === '\t' || previous === '\n')) {
      const end = text.indexOf('\n', i)
      i = end === -1 ? text.length : end - 1
      previous = ' '
      afterToken = true
      continue
    }
    let opened = false
    if ((c === '"' || c === '\'') && afterToken) {
      quote = c
    } else if ((c === '[' || c === '{') && afterToken) {
      if (++depth > max) return { offset: i }
      opened = true
    } else if ((c === ']' || c === '}') && depth > 0) {
      depth--
    }
    previous = c
    afterToken = opened || c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ':' || c === ',' || c === '-'
  }
  return undefined
}
