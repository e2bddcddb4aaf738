import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'
import ts from 'typescript'

// Start-up time at 100,000 tenants counts (issue 13): what `serve` imports before it reads the
// configuration is loaded on every start. The packages of optional features (ACME, PostgreSQL,
// the mailbox, the X.509 library, the SMTP probe) and of the other commands are imported only when
// used. This walks the static imports as TypeScript emits them (type-only imports are gone).

const src = join(import.meta.dirname, '..', '..', 'src')

/** Specifiers of the static imports and re-exports of `file` as emitted (not `import()`). */
function staticImports (file: string): string[] {
  const js = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText
  return [...js.matchAll(/^\s*(?:import|export)\s+(?:[^'"();]*?\s+from\s+)?['"]([^'"]+)['"]/gm)].map(m => m[1] as string)
}

/** Every package reached by static imports from `entry`, with the first of our files that imports it. */
function packagesReached (entry: string): Map<string, string> {
  const seen = new Set<string>()
  const packages = new Map<string, string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'))
        if (existsSync(target)) visit(target)
      } else if (!spec.startsWith('node:')) {
        const name = spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/')
        if (!packages.has(name)) packages.set(name, relative(src, file))
      }
    }
  }
  visit(entry)
  return packages
}

t.test('serve loads no optional feature\'s package before it reads the configuration', async t => {
  const reached = packagesReached(join(src, 'cli', 'serve.ts'))
  for (const name of ['fastify', 'pino', 'yaml', 'ajv']) t.ok(reached.has(name), `${name} is loaded (the walk follows imports)`)
  const optional = ['acme-client', 'axios', '@peculiar/x509', 'reflect-metadata', 'pg', 'kysely', 'imapflow', 'mailparser', 'nodemailer', 'commander']
  t.same(optional.filter(name => reached.has(name)).map(name => `${name} (imported by ${reached.get(name) as string})`), [])
})

t.test('the entry loads a command\'s modules only when that command runs', async t => {
  const reached = packagesReached(join(src, 'main.ts'))
  t.same([...reached.keys()], ['commander'])
})

t.test('type-only imports and import() do not count; side-effect imports and re-exports do', async t => {
  t.same(staticImports(join(src, 'service.ts')).filter(s => s.includes('acme-issuer') || s.includes('internal-ca')), [])
  const dir = t.testdir({
    'a.ts': "import type { X } from 'typed'\nimport 'side-effect'\nexport { y } from 'reexported'\nimport {\n  z,\n  type W,\n} from 'multi-line'\nconst later = async () => await import('dynamic')\nexport const v: X | W | undefined = z\n",
  })
  t.same(staticImports(join(dir, 'a.ts')), ['side-effect', 'reexported', 'multi-line'])
})
