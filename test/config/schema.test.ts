import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import t from 'tap'
import { parse } from 'yaml'
import { configSchema } from '../../src/config/schema.js'

const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(configSchema)

function valid (value: unknown): boolean {
  return validate(value)
}

const base = { tenants: { 'example.com': { mx: ['mx.example.com'] } } }

t.test('the schema compiles in strict mode and accepts the shipped example', async t => {
  const example = parse(await readFile(new URL('../../config/example.yaml', import.meta.url), 'utf8')) as unknown
  t.equal(valid(example), true, JSON.stringify(validate.errors))
  t.equal(valid(base), true)
  t.equal(valid({ tenants: { 'example.com': null } }), true, 'a tenant may be empty (defaults apply)')
})

t.test('every object rejects unknown keys', async t => {
  const objects: [string, unknown][] = [
    ['top', { ...base, x: 1 }],
    ['listen', { ...base, listen: { x: 1 } }],
    ['listen.https', { ...base, listen: { https: { x: 1 } } }],
    ['listen.http', { ...base, listen: { http: { x: 1 } } }],
    ['listen.ops', { ...base, listen: { ops: { x: 1 } } }],
    ['log', { ...base, log: { x: 1 } }],
    ['certificates', { ...base, certificates: { x: 1 } }],
    ['certificates.internal', { ...base, certificates: { internal: { x: 1 } } }],
    ['certificates.files', { ...base, certificates: { files: { x: 1 } } }],
    ['certificates.acme', { ...base, certificates: { acme: { x: 1 } } }],
    ['certificates.acme.eab', { ...base, certificates: { acme: { eab: { kid: 'k', hmac_key: 'h', x: 1 } } } }],
    ['dns', { ...base, dns: { x: 1 } }],
    ['defaults', { ...base, defaults: { x: 1 } }],
    ['tenant', { tenants: { 'example.com': { mx: ['a.b'], x: 1 } } }],
    ['certificate', { tenants: { 'example.com': { mx: ['a.b'], certificate: { cert: 'a', key: 'b', x: 1 } } } }],
  ]
  for (const [name, value] of objects) {
    t.equal(valid(value), false, name)
    t.equal(validate.errors?.[0]?.keyword, 'additionalProperties', name)
  }
})

t.test('value rules', async t => {
  const table: [string, unknown, boolean][] = [
    ['tenants required', {}, false],
    ['tenants non-empty', { tenants: {} }, false],
    ['port 0', { ...base, listen: { https: { port: 0 } } }, true],
    ['port 65535', { ...base, listen: { https: { port: 65535 } } }, true],
    ['port 65536', { ...base, listen: { https: { port: 65536 } } }, false],
    ['port -1', { ...base, listen: { https: { port: -1 } } }, false],
    ['port 1.5', { ...base, listen: { https: { port: 1.5 } } }, false],
    ['empty host', { ...base, listen: { https: { host: '' } } }, false],
    ['log level trace', { ...base, log: { level: 'trace' } }, true],
    ['log level verbose', { ...base, log: { level: 'verbose' } }, false],
    ['issuer files', { ...base, certificates: { issuer: 'files' } }, true],
    ['issuer acme', { ...base, certificates: { issuer: 'acme' } }, true],
    ['issuer letsencrypt', { ...base, certificates: { issuer: 'letsencrypt' } }, false],
    ['acme empty', { ...base, certificates: { acme: {} } }, true],
    ['acme directory name', { ...base, certificates: { acme: { directory: 'letsencrypt-staging' } } }, true],
    ['acme directory URL', { ...base, certificates: { acme: { directory: 'https://localhost:14000/dir' } } }, true],
    ['acme directory http URL', { ...base, certificates: { acme: { directory: 'http://x.example/dir' } } }, false],
    ['acme directory unknown name', { ...base, certificates: { acme: { directory: 'zerossl' } } }, false],
    ['acme email', { ...base, certificates: { acme: { email: 'a@b.c' } } }, true],
    ['acme email without @', { ...base, certificates: { acme: { email: 'ab.c' } } }, false],
    ['acme email with a space', { ...base, certificates: { acme: { email: 'a b@c.d' } } }, false],
    ['acme tos as a string', { ...base, certificates: { acme: { terms_of_service_agreed: 'yes' } } }, false],
    ['acme eab', { ...base, certificates: { acme: { eab: { kid: 'k', hmac_key: 'aB0_-=' } } } }, true],
    ['acme eab without hmac_key', { ...base, certificates: { acme: { eab: { kid: 'k' } } } }, false],
    ['acme eab hmac_key not base64url', { ...base, certificates: { acme: { eab: { kid: 'k', hmac_key: 'a+b/' } } } }, false],
    ['acme eab empty kid', { ...base, certificates: { acme: { eab: { kid: '', hmac_key: 'a' } } } }, false],
    ['acme challenges', { ...base, certificates: { acme: { challenges: ['http-01', 'tls-alpn-01'] } } }, true],
    ['acme challenges empty', { ...base, certificates: { acme: { challenges: [] } } }, false],
    ['acme challenges repeated', { ...base, certificates: { acme: { challenges: ['http-01', 'http-01'] } } }, false],
    ['acme challenge dns-01', { ...base, certificates: { acme: { challenges: ['dns-01'] } } }, false],
    ['acme key_type rsa-2048', { ...base, certificates: { acme: { key_type: 'rsa-2048' } } }, true],
    ['acme key_type rsa-4096', { ...base, certificates: { acme: { key_type: 'rsa-4096' } } }, false],
    ['acme empty ca_file', { ...base, certificates: { acme: { ca_file: '' } } }, false],
    ['acme concurrency 16', { ...base, certificates: { acme: { concurrency: 16 } } }, true],
    ['acme concurrency 17', { ...base, certificates: { acme: { concurrency: 17 } } }, false],
    ['acme max_orders 10000', { ...base, certificates: { acme: { max_orders: 10000 } } }, true],
    ['acme max_orders 10001', { ...base, certificates: { acme: { max_orders: 10001 } } }, false],
    ['acme order_window 60', { ...base, certificates: { acme: { order_window: 60 } } }, true],
    ['acme order_window 604801', { ...base, certificates: { acme: { order_window: 604801 } } }, false],
    ['empty storage', { ...base, certificates: { storage: '' } }, false],
    ['leaf 3600', { ...base, certificates: { internal: { leaf_lifetime: 3600 } } }, true],
    ['leaf 3599', { ...base, certificates: { internal: { leaf_lifetime: 3599 } } }, false],
    ['leaf 31536001', { ...base, certificates: { internal: { leaf_lifetime: 31536001 } } }, false],
    ['empty files.directory', { ...base, certificates: { files: { directory: '' } } }, false],
    ['dns target empty string', { ...base, dns: { target: [''] } }, false],
    ['dns target empty list', { ...base, dns: { target: [] } }, true],
    ['max_age 0', { tenants: { 'a.b': { mx: ['a.b'], max_age: 0 } } }, true],
    ['max_age 31557600', { tenants: { 'a.b': { mx: ['a.b'], max_age: 31557600 } } }, true],
    ['max_age 31557601', { tenants: { 'a.b': { mx: ['a.b'], max_age: 31557601 } } }, false],
    ['mode none', { tenants: { 'a.b': { mx: ['a.b'], mode: 'none' } } }, true],
    ['mode NONE', { tenants: { 'a.b': { mx: ['a.b'], mode: 'NONE' } } }, false],
    ['mx empty', { tenants: { 'a.b': { mx: [] } } }, false],
    ['mx empty string', { tenants: { 'a.b': { mx: [''] } } }, false],
    ['rua mailto', { tenants: { 'a.b': { mx: ['a.b'], rua: ['mailto:r@a.b'] } } }, true],
    ['rua https', { tenants: { 'a.b': { mx: ['a.b'], rua: ['https://a.b/r'] } } }, true],
    ['rua http', { tenants: { 'a.b': { mx: ['a.b'], rua: ['http://a.b/r'] } } }, false],
    ['rua mailto without @', { tenants: { 'a.b': { mx: ['a.b'], rua: ['mailto:ab'] } } }, false],
    ['rua mailto with two @', { tenants: { 'a.b': { mx: ['a.b'], rua: ['mailto:a@b@c'] } } }, false],
    ['rua with a comma', { tenants: { 'a.b': { mx: ['a.b'], rua: ['mailto:a@b,mailto:c@d'] } } }, false],
    ['rua with a semicolon', { tenants: { 'a.b': { mx: ['a.b'], rua: ['https://a.b/;x'] } } }, false],
    ['rua with a space', { tenants: { 'a.b': { mx: ['a.b'], rua: ['https://a.b/ x'] } } }, false],
    ['rua mailto with a non-ASCII domain', { tenants: { 'a.b': { mx: ['a.b'], rua: ['mailto:r@bücher.example'] } } }, false],
    ['rua mailto with a non-ASCII local part', { tenants: { 'a.b': { mx: ['a.b'], rua: ['mailto:rü@a.b'] } } }, false],
    ['rua mailto with a punycode domain', { tenants: { 'a.b': { mx: ['a.b'], rua: ['mailto:r@xn--bcher-kva.example'] } } }, true],
    ['rua https with a non-ASCII path', { tenants: { 'a.b': { mx: ['a.b'], rua: ['https://a.b/ü'] } } }, false],
    ['rua https with a percent-encoded path', { tenants: { 'a.b': { mx: ['a.b'], rua: ['https://a.b/%C3%BC?x=1&y=~'] } } }, true],
    ['rua with a control character', { tenants: { 'a.b': { mx: ['a.b'], rua: ['https://a.b/\u0001'] } } }, false],
    ['rua with DEL', { tenants: { 'a.b': { mx: ['a.b'], rua: ['https://a.b/\u007f'] } } }, false],
    ['rua with a non-breaking space', { tenants: { 'a.b': { mx: ['a.b'], rua: ['mailto:r@a.b\u00a0'] } } }, false],
    ['rua with an exclamation mark', { tenants: { 'a.b': { mx: ['a.b'], rua: ['https://a.b/!'] } } }, false],
    ['rua empty list', { tenants: { 'a.b': { mx: ['a.b'], rua: [] } } }, true],
    ['certificate both', { tenants: { 'a.b': { mx: ['a.b'], certificate: { cert: 'c', key: 'k' } } } }, true],
    ['certificate no key', { tenants: { 'a.b': { mx: ['a.b'], certificate: { cert: 'c' } } } }, false],
    ['certificate empty cert', { tenants: { 'a.b': { mx: ['a.b'], certificate: { cert: '', key: 'k' } } } }, false],
    ['tenant is a string', { tenants: { 'a.b': 'x' } }, false],
    ['tenants is a list', { tenants: ['a.b'] }, false],
  ]
  for (const [name, value, expected] of table) t.equal(valid(value), expected, name)
})
