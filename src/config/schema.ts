import { POLICY_MODES } from '../policy/policy-mode.js'

/**
 * JSON schema of the YAML configuration. Structural checks live here;
 * semantic ones (domain syntax, duplicates after normalisation) live in
 * `load-config.ts`. `additionalProperties: false` everywhere, so a typo is
 * an error with a suggestion rather than a silently ignored key.
 */
const listenAddress = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
  },
} as const

const mode = { enum: POLICY_MODES } as const
const maxAge = { type: 'integer', minimum: 0, maximum: 31557600 } as const
const mxList = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } as const
const ruaList = {
  type: 'array',
  // Printable ASCII only (URIs in TXT records are percent-encoded); no separators of the TXT syntax.
  items: { type: 'string', pattern: String.raw`^(mailto:(?:(?![,;!@])[\x21-\x7e])+@(?:(?![,;!@])[\x21-\x7e])+|https://(?:(?![,;!])[\x21-\x7e])+)$` },
} as const

const opsListenAddress = {
  ...listenAddress,
  properties: { ...listenAddress.properties, token_file: { type: 'string', minLength: 1 } },
} as const

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tenants'],
  properties: {
    listen: {
      type: 'object',
      additionalProperties: false,
      properties: { https: listenAddress, http: listenAddress, ops: opsListenAddress },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } },
    },
    certificates: {
      type: 'object',
      additionalProperties: false,
      properties: {
        issuer: { enum: ['acme', 'internal', 'files'] },
        storage: { type: 'string', minLength: 1 },
        context_cache: { type: 'integer', minimum: 1, maximum: 10000000 },
        internal: {
          type: 'object',
          additionalProperties: false,
          properties: { leaf_lifetime: { type: 'integer', minimum: 3600, maximum: 31536000 } },
        },
        files: {
          type: 'object',
          additionalProperties: false,
          properties: { directory: { type: 'string', minLength: 1 } },
        },
        acme: {
          type: 'object',
          additionalProperties: false,
          properties: {
            directory: { type: 'string', pattern: '^(letsencrypt|letsencrypt-staging|https://\\S+)$' },
            email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
            terms_of_service_agreed: { type: 'boolean' },
            eab: {
              type: 'object',
              additionalProperties: false,
              required: ['kid', 'hmac_key'],
              properties: { kid: { type: 'string', minLength: 1 }, hmac_key: { type: 'string', pattern: '^[A-Za-z0-9_=-]+$' } },
            },
            // Typed items let ajv check uniqueItems with a hash (linear) instead of comparing every pair.
            challenges: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: ['tls-alpn-01', 'http-01'] } },
            key_type: { enum: ['ecdsa-p256', 'rsa-2048'] },
            ca_file: { type: 'string', minLength: 1 },
            concurrency: { type: 'integer', minimum: 1, maximum: 16 },
            max_orders: { type: 'integer', minimum: 1, maximum: 10000 },
            order_window: { type: 'integer', minimum: 60, maximum: 604800 },
          },
        },
      },
    },
    check: {
      type: 'object',
      additionalProperties: false,
      properties: {
        resolvers: { type: 'array', items: { type: 'string', pattern: String.raw`^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+)(:[0-9]{1,5})?$` } },
        timeout_ms: { type: 'integer', minimum: 100, maximum: 60000 },
        concurrency: { type: 'integer', minimum: 1, maximum: 256 },
        smtp_port: { type: 'integer', minimum: 1, maximum: 65535 },
        https_port: { type: 'integer', minimum: 1, maximum: 65535 },
        ca_file: { type: 'string', minLength: 1 },
        expiry_warning_days: { type: 'integer', minimum: 0, maximum: 365 },
        monitor: {
          type: 'object',
          additionalProperties: false,
          properties: {
            interval: { type: 'integer', minimum: 0, maximum: 604800 },
            concurrency: { type: 'integer', minimum: 1, maximum: 64 },
          },
        },
      },
    },
    dns: {
      type: 'object',
      additionalProperties: false,
      properties: { target: { type: 'array', items: { type: 'string', minLength: 1 } } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tenants: { type: 'integer', minimum: 1, maximum: 10_000_000 },
        mx_per_tenant: { type: 'integer', minimum: 1, maximum: 100_000 },
        alias_nodes: { type: 'integer', minimum: 1, maximum: 100_000_000 },
      },
    },
    reports: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        https_path: { type: 'string', pattern: '^/[A-Za-z0-9._~/-]*$' },
        mailto: { type: 'string', pattern: String.raw`^[^@\s,;!]+@[^@\s,;!]+$` },
        database: { type: 'string', minLength: 1 },
        max_body_bytes: { type: 'integer', minimum: 1024, maximum: 1073741824 },
        max_report_bytes: { type: 'integer', minimum: 1024, maximum: 1073741824 },
        max_ratio: { type: 'integer', minimum: 2, maximum: 100000 },
        rate_limit: {
          type: 'object',
          additionalProperties: false,
          properties: { max: { type: 'integer', minimum: 1, maximum: 1000000 }, window: { type: 'integer', minimum: 1, maximum: 86400 } },
        },
        ingest_rate: { type: 'integer', minimum: 1, maximum: 100000 },
        raw_retention_days: { type: 'integer', minimum: 1, maximum: 36500 },
        retention_days: { type: 'integer', minimum: 1, maximum: 36500 },
        mailbox: {
          type: 'object',
          additionalProperties: false,
          required: ['host', 'user', 'password_file'],
          properties: {
            host: { type: 'string', minLength: 1 },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            security: { enum: ['tls', 'starttls', 'plain'] },
            user: { type: 'string', minLength: 1 },
            password_file: { type: 'string', minLength: 1 },
            folder: { type: 'string', minLength: 1 },
            after: { enum: ['flag', 'move'] },
            processed_folder: { type: 'string', minLength: 1 },
            rejected_folder: { type: 'string', minLength: 1 },
            poll_interval: { type: 'integer', minimum: 1, maximum: 86400 },
            max_message_bytes: { type: 'integer', minimum: 1024, maximum: 1073741824 },
            ca_file: { type: 'string', minLength: 1 },
          },
        },
        verdict: {
          type: 'object',
          additionalProperties: false,
          properties: {
            days: { type: 'integer', minimum: 1, maximum: 366 },
            min_organizations: { type: 'integer', minimum: 0, maximum: 1000 },
            required: { type: 'boolean' },
          },
        },
      },
    },
    database: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url_file: { type: 'string', minLength: 1 },
        pool_size: { type: 'integer', minimum: 1, maximum: 1000 },
      },
    },
    stats: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        flush_interval: { type: 'integer', minimum: 1, maximum: 3600 },
        senders: {
          type: 'array',
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' },
              user_agent: { type: 'string', minLength: 1, maxLength: 1000 },
              networks: { type: 'array', maxItems: 10000, items: { type: 'string', minLength: 1 } },
            },
          },
        },
      },
    },
    ui: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        password_file: { type: 'string', minLength: 1 },
        page_size: { type: 'integer', minimum: 10, maximum: 1000 },
      },
    },
    defaults: {
      type: 'object',
      additionalProperties: false,
      properties: { mode, max_age: maxAge, mx: mxList, rua: ruaList },
    },
    tenants: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: {
          mode,
          max_age: maxAge,
          mx: mxList,
          rua: ruaList,
          retire: { type: 'boolean' },
          certificate: {
            type: 'object',
            additionalProperties: false,
            required: ['cert', 'key'],
            properties: { cert: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
  },
} as const
