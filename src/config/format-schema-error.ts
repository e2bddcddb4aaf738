import type { ErrorObject } from 'ajv'
import { suggest } from './suggest.js'

/** A schema violation turned into words, with the path it is about. */
export interface SchemaFinding {
  readonly path: string[]
  /** Locate the key (unknown keys) rather than the value. */
  readonly atKey: boolean
  readonly message: string
  readonly hint?: string
}

/** `tenants."example.com".mode`: a readable name for a JSON-pointer path. */
export function describePath (path: readonly string[]): string {
  let out = ''
  for (const segment of path) {
    if (/^[0-9]+$/.test(segment)) {
      out += `[${segment}]`
    } else {
      const part = /^[a-z_]+$/.test(segment) ? segment : `"${segment}"`
      out += out === '' ? part : `.${part}`
    }
  }
  return out === '' ? 'the configuration' : out
}

/** Split an ajv instancePath (`/tenants/example.com/mx/0`) into segments. */
export function pointerSegments (pointer: string): string[] {
  if (pointer === '') return []
  return pointer.slice(1).split('/').map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

/** What a `pattern` violation means, by the key it is about. */
const PATTERN_MESSAGES: Record<string, [string, string]> = {
  rua: ['a mailto: address or an https:// URL', 'e.g. mailto:tlsrpt@example.com'],
  email: ['an email address', 'e.g. hostmaster@example.net'],
  directory: ['letsencrypt, letsencrypt-staging or an https:// URL', "the CA's ACME directory URL"],
  hmac_key: ['base64url text', 'as the CA gave it for External Account Binding'],
  resolvers: ['an IP address, optionally with :port', 'e.g. 127.0.0.1:53 or [2001:db8::53]:53'],
}

/** Turn one ajv error into a message and hint an operator can act on. */
export function formatSchemaError (error: ErrorObject): SchemaFinding | undefined {
  const path = pointerSegments(error.instancePath)
  const name = describePath(path)
  const params = error.params as Record<string, unknown>
  const schemaProps = Object.keys((error.parentSchema?.properties ?? {}) as object)
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty)
      const near = suggest(key, schemaProps)
      return {
        path: [...path, key],
        atKey: true,
        message: `unknown key "${key}" in ${name}`,
        hint: near ? `did you mean "${near}"?` : `allowed keys: ${schemaProps.join(', ')}`,
      }
    }
    case 'required':
      return { path, atKey: false, message: `${name} is missing the required key "${String(params.missingProperty)}"` }
    case 'type': {
      const hint = path.at(-1) === 'mx' || path.at(-1) === 'rua' || path.at(-1) === 'target'
        ? `write a list, e.g. ${path.at(-1)}: [value] or one "- value" per line`
        : undefined
      const expected = String(params.type).split(',').join(' or ')
      return hint ? { path, atKey: false, message: `${name} must be a list`, hint } : { path, atKey: false, message: `${name} must be ${article(expected)}` }
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String)
      const near = typeof error.data === 'string' ? suggest(error.data, allowed) : undefined
      return {
        path,
        atKey: false,
        message: `${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(error.data)})`,
        ...(near ? { hint: `did you mean "${near}"?` } : {}),
      }
    }
    case 'minimum':
    case 'maximum': {
      const schema = error.parentSchema as { minimum: number; maximum: number }
      return {
        path,
        atKey: false,
        message: `${name} must be between ${schema.minimum} and ${schema.maximum} (got ${JSON.stringify(error.data)})`,
        ...(path.at(-1) === 'max_age' ? { hint: 'max_age is in seconds: 86400 is one day, 604800 one week' } : {}),
      }
    }
    case 'minItems':
      return { path, atKey: false, message: `${name} must not be empty`, ...(path.at(-1) === 'mx' ? { hint: 'list at least one MX host pattern, even for mode none' } : {}) }
    case 'minProperties':
      return { path, atKey: false, message: `${name} must not be empty`, hint: 'add at least one tenant domain' }
    case 'minLength':
      return { path, atKey: false, message: `${name} must not be empty` }
    case 'pattern': {
      const field = path.find(segment => PATTERN_MESSAGES[segment] !== undefined) ?? 'rua'
      const [what, hint] = PATTERN_MESSAGES[field] as [string, string]
      return { path, atKey: false, message: `${name} must be ${what} (got ${JSON.stringify(error.data)})`, hint }
    }
    default:
      return { path, atKey: false, message: `${name} ${error.message ?? 'is invalid'}` }
  }
}

function article (type: string): string {
  return (/^[aeiou]/.test(type) ? 'an ' : 'a ') + type
}
