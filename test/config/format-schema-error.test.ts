import type { ErrorObject } from 'ajv'
import t from 'tap'
import { describePath, formatSchemaError, pointerSegments } from '../../src/config/format-schema-error.js'

function ajvError (over: Partial<ErrorObject>): ErrorObject {
  return { keyword: 'x', instancePath: '', schemaPath: '#', params: {}, ...over } as ErrorObject
}

t.test('describePath', async t => {
  const table: [string[], string][] = [
    [[], 'the configuration'],
    [['tenants'], 'tenants'],
    [['listen', 'https', 'port'], 'listen.https.port'],
    [['tenants', 'example.com', 'mode'], 'tenants."example.com".mode'],
    [['tenants', 'example.com', 'mx', '0'], 'tenants."example.com".mx[0]'],
    [['dns', 'target', '12'], 'dns.target[12]'],
    [['0'], '[0]'],
    [['0', 'a'], '[0].a'],
    [['Tenants'], '"Tenants"'],
    [['max_age'], 'max_age'],
  ]
  for (const [path, name] of table) t.equal(describePath(path), name, name)
})

t.test('pointerSegments decodes JSON pointers', async t => {
  t.same(pointerSegments(''), [])
  t.same(pointerSegments('/tenants/example.com/mx/0'), ['tenants', 'example.com', 'mx', '0'])
  t.same(pointerSegments('/tenants/a~1b.com'), ['tenants', 'a/b.com'])
  t.same(pointerSegments('/tenants/a~0b.com'), ['tenants', 'a~b.com'])
  t.same(pointerSegments('/tenants/a~01.com'), ['tenants', 'a~1.com'], '~01 decodes to ~1, not /')
  t.same(pointerSegments('/'), [''])
})

t.test('formatSchemaError', async t => {
  t.test('unknown key: suggestion, or the allowed keys, located at the key', async t => {
    const parentSchema = { properties: { host: {}, port: {} } }
    t.same(formatSchemaError(ajvError({ keyword: 'additionalProperties', instancePath: '/listen/https', params: { additionalProperty: 'prot' }, parentSchema })), {
      path: ['listen', 'https', 'prot'], atKey: true, message: 'unknown key "prot" in listen.https', hint: 'did you mean "port"?',
    })
    t.same(formatSchemaError(ajvError({ keyword: 'additionalProperties', instancePath: '/listen/https', params: { additionalProperty: 'address' }, parentSchema })), {
      path: ['listen', 'https', 'address'], atKey: true, message: 'unknown key "address" in listen.https', hint: 'allowed keys: host, port',
    })
    t.same(formatSchemaError(ajvError({ keyword: 'additionalProperties', params: { additionalProperty: 'zz' } })), {
      path: ['zz'], atKey: true, message: 'unknown key "zz" in the configuration', hint: 'allowed keys: ',
    }, 'no parent schema')
  })
  t.test('required', async t => {
    t.same(formatSchemaError(ajvError({ keyword: 'required', params: { missingProperty: 'tenants' } })), {
      path: [], atKey: false, message: 'the configuration is missing the required key "tenants"',
    })
  })
  t.test('type: lists get a hint, other types an article', async t => {
    for (const key of ['mx', 'rua', 'target']) {
      t.same(formatSchemaError(ajvError({ keyword: 'type', instancePath: `/x/${key}`, params: { type: 'array' } })), {
        path: ['x', key], atKey: false, message: `x.${key} must be a list`, hint: `write a list, e.g. ${key}: [value] or one "- value" per line`,
      })
    }
    t.same(formatSchemaError(ajvError({ keyword: 'type', instancePath: '/tenants', params: { type: 'object' } })), { path: ['tenants'], atKey: false, message: 'tenants must be an object' })
    t.same(formatSchemaError(ajvError({ keyword: 'type', instancePath: '/a', params: { type: 'integer' } })), { path: ['a'], atKey: false, message: 'a must be an integer' })
    t.same(formatSchemaError(ajvError({ keyword: 'type', instancePath: '/a', params: { type: 'string' } })), { path: ['a'], atKey: false, message: 'a must be a string' })
    t.same(formatSchemaError(ajvError({ keyword: 'type', instancePath: '/a', params: { type: ['object', 'null'] } })), { path: ['a'], atKey: false, message: 'a must be an object or null' })
  })
  t.test('enum: suggestion only for near string values', async t => {
    const params = { allowedValues: ['enforce', 'testing', 'none'] }
    t.same(formatSchemaError(ajvError({ keyword: 'enum', instancePath: '/defaults/mode', params, data: 'Enforce!' })), {
      path: ['defaults', 'mode'], atKey: false, message: 'defaults.mode must be one of enforce, testing, none (got "Enforce!")', hint: 'did you mean "enforce"?',
    })
    t.same(formatSchemaError(ajvError({ keyword: 'enum', instancePath: '/defaults/mode', params, data: 'strict' })), {
      path: ['defaults', 'mode'], atKey: false, message: 'defaults.mode must be one of enforce, testing, none (got "strict")',
    })
    t.same(formatSchemaError(ajvError({ keyword: 'enum', instancePath: '/defaults/mode', params, data: true })), {
      path: ['defaults', 'mode'], atKey: false, message: 'defaults.mode must be one of enforce, testing, none (got true)',
    })
  })
  t.test('minimum and maximum name the range; max_age gets a unit hint', async t => {
    const parentSchema = { minimum: 0, maximum: 31557600 }
    for (const keyword of ['minimum', 'maximum']) {
      t.same(formatSchemaError(ajvError({ keyword, instancePath: '/defaults/max_age', parentSchema, data: -1 })), {
        path: ['defaults', 'max_age'], atKey: false, message: 'defaults.max_age must be between 0 and 31557600 (got -1)', hint: 'max_age is in seconds: 86400 is one day, 604800 one week',
      })
    }
    t.same(formatSchemaError(ajvError({ keyword: 'maximum', instancePath: '/listen/ops/port', parentSchema: { minimum: 0, maximum: 65535 }, data: 65536 })), {
      path: ['listen', 'ops', 'port'], atKey: false, message: 'listen.ops.port must be between 0 and 65535 (got 65536)',
    })
  })
  t.test('minItems, minProperties, minLength, pattern', async t => {
    t.same(formatSchemaError(ajvError({ keyword: 'minItems', instancePath: '/defaults/mx' })), {
      path: ['defaults', 'mx'], atKey: false, message: 'defaults.mx must not be empty', hint: 'list at least one MX host pattern, even for mode none',
    })
    t.same(formatSchemaError(ajvError({ keyword: 'minItems', instancePath: '/dns/target' })), { path: ['dns', 'target'], atKey: false, message: 'dns.target must not be empty' })
    t.same(formatSchemaError(ajvError({ keyword: 'minProperties', instancePath: '/tenants' })), {
      path: ['tenants'], atKey: false, message: 'tenants must not be empty', hint: 'add at least one tenant domain',
    })
    t.same(formatSchemaError(ajvError({ keyword: 'minLength', instancePath: '/certificates/storage' })), { path: ['certificates', 'storage'], atKey: false, message: 'certificates.storage must not be empty' })
    t.same(formatSchemaError(ajvError({ keyword: 'pattern', instancePath: '/defaults/rua/1', data: 'x@y' })), {
      path: ['defaults', 'rua', '1'], atKey: false, message: 'defaults.rua[1] must be a mailto: address or an https:// URL (got "x@y")', hint: 'e.g. mailto:tlsrpt@example.com',
    })
  })
  t.test('other keywords fall back to the ajv message', async t => {
    t.same(formatSchemaError(ajvError({ keyword: 'format', instancePath: '/a', message: 'must match format "uri"' })), { path: ['a'], atKey: false, message: 'a must match format "uri"' })
    t.same(formatSchemaError(ajvError({ keyword: 'const', instancePath: '/a' })), { path: ['a'], atKey: false, message: 'a is invalid' })
  })
})
