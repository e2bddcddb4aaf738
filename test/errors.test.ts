import { readFileSync } from 'node:fs'
import t from 'tap'
import { errors } from '../src/errors.js'

// Issue 8, point 5: every code of the errors table is explained in the
// README's troubleshooting table, and that table names no other code.

const CODE = /^MTA_STS_[A-Z_]+$/

/** The code of each constructor of the table, by key. */
function tableCodes (): Map<string, string> {
  return new Map(Object.entries(errors).map(([key, E]) => [key, new E().code]))
}

/** The first cell (a `code` span) of every row of the README's "Troubleshooting" table. */
function readmeCodes (): string[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const start = readme.search(/^## Troubleshooting$/m)
  if (start === -1) return []
  const rest = readme.slice(start + 1)
  const end = rest.search(/^## /m)
  const section = end === -1 ? rest : rest.slice(0, end)
  const rows = section.split('\n').filter(line => line.startsWith('|'))
  // Header and separator first; every other row names one code in its first cell.
  return rows.slice(2).map(row => /^\|\s*`([^`]*)`\s*\|/.exec(row)?.[1] ?? `(no code in row ${JSON.stringify(row)})`)
}

t.test('codes are unique and look like MTA_STS_*', async t => {
  const codes = [...tableCodes().values()]
  t.ok(codes.length > 0)
  t.equal(new Set(codes).size, codes.length, 'no code is used twice')
  for (const [key, code] of tableCodes()) {
    t.match(code, CODE, key)
    t.equal(code, `MTA_STS_${key}`, 'the key is the code without its prefix')
  }
})

t.test('every code has a row in the README troubleshooting table', async t => {
  const documented = new Set(readmeCodes())
  t.ok(documented.size > 0, 'README.md has a "## Troubleshooting" table')
  for (const code of tableCodes().values()) t.ok(documented.has(code), `${code} is in the README`)
})

t.test('every README troubleshooting row is a code of the table, once', async t => {
  const known = new Set(tableCodes().values())
  const rows = readmeCodes()
  for (const code of rows) t.ok(known.has(code), `${code} is in src/errors.ts`)
  t.equal(new Set(rows).size, rows.length, 'no code has two rows')
})
