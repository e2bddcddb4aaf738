import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import t from 'tap'
import { parse } from 'yaml'
import { CONFIG_DEFAULTS } from '../../src/config/defaults.js'
import { configSchema } from '../../src/config/schema.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function isDeepFrozen (value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen)
}

t.test('the defaults are deeply frozen', async t => {
  t.ok(isDeepFrozen(CONFIG_DEFAULTS))
})

t.test('the defaults, written out as a file, pass the schema', async t => {
  const validate = new Ajv({ allowUnionTypes: true, strict: true }).compile(configSchema)
  t.ok(validate({ ...CONFIG_DEFAULTS, tenants: { 'example.com': { mx: ['mx.example.com'] } } }), JSON.stringify(validate.errors))
})

/** The YAML blocks of the README's Configuration section, parsed. */
function readmeConfigBlocks (): Record<string, unknown>[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1))
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map(m => parse(m[1] as string) as Record<string, unknown>)
}

/** Paths of leaves in `example` that differ from `defaults`, where `defaults` has a value. */
function differences (example: unknown, defaults: unknown, path: string[] = []): string[] {
  if (defaults === undefined) return []
  if (typeof defaults === 'object' && defaults !== null && !Array.isArray(defaults) && typeof example === 'object' && example !== null) {
    return Object.entries(example).flatMap(([k, v]) => differences(v, (defaults as Record<string, unknown>)[k], [...path, k]))
  }
  return JSON.stringify(example) === JSON.stringify(defaults) ? [] : [path.join('.')]
}

t.test("the README's configuration example shows the defaults, except where it shows a production choice", async t => {
  const [example, limits] = readmeConfigBlocks()
  t.same(differences(example, CONFIG_DEFAULTS), ['certificates.issuer', 'dns.target', 'stats.senders', 'defaults.rua'], 'issuer acme, a dns target, a sender rule and a rua address are examples; every other value shown is the default')
  t.same(limits, { limits: CONFIG_DEFAULTS.limits }, 'the limits block lists the default limits')
})
