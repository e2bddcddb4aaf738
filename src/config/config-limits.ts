import { isMap, isScalar, type Document } from 'yaml'
import { CONFIG_DEFAULTS } from './defaults.js'

/**
 * Bounds on a configuration, so no file can stall the service: each is
 * checked before the work it bounds, and each error names the limit and how
 * to raise it. `tenants`, `mxPerTenant` and `aliasNodes` come from the
 * file's `limits:` section; the file size is checked before parsing, so it
 * comes from the environment ({@link MAX_CONFIG_BYTES_ENV}).
 */
export interface ConfigLimits {
  /** Keys of `tenants`. */
  readonly tenants: number
  /** Entries of one `mx` list (a tenant's or `defaults.mx`). */
  readonly mxPerTenant: number
  /** Nodes that YAML aliases (`*name`) may add in all. */
  readonly aliasNodes: number
}

/** Limits where the file's `limits:` section is silent (from {@link CONFIG_DEFAULTS}). */
export const DEFAULT_LIMITS: ConfigLimits = Object.freeze({
  tenants: CONFIG_DEFAULTS.limits.tenants,
  mxPerTenant: CONFIG_DEFAULTS.limits.mx_per_tenant,
  aliasNodes: CONFIG_DEFAULTS.limits.alias_nodes,
})

/** Keys of the `limits:` section, by field of {@link ConfigLimits}. */
export const LIMIT_KEYS = Object.freeze({ tenants: 'tenants', mxPerTenant: 'mx_per_tenant', aliasNodes: 'alias_nodes' } as const)

/** Environment variable that raises (or lowers) the file-size limit, in bytes. */
export const MAX_CONFIG_BYTES_ENV = 'MTA_STS_MAX_CONFIG_BYTES'

/** File-size limit without {@link MAX_CONFIG_BYTES_ENV}: 16 MiB (100,000 tenants take about 2 MiB). */
export const DEFAULT_MAX_CONFIG_BYTES = 16 * 1024 * 1024

/**
 * The limits of a parsed (not yet converted) document: each key of its
 * `limits:` mapping that holds a positive integer, else the default. Invalid
 * values are reported by the schema; until then the default applies.
 */
export function configLimits (doc: Document): ConfigLimits {
  const section = doc.get('limits', true)
  const read = (field: keyof ConfigLimits): number => {
    const node = isMap(section) ? section.get(LIMIT_KEYS[field], true) : undefined
    const value = isScalar(node) ? node.value : undefined
    return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_LIMITS[field]
  }
  return Object.freeze({ tenants: read('tenants'), mxPerTenant: read('mxPerTenant'), aliasNodes: read('aliasNodes') })
}

/** The file-size limit from `env` ({@link MAX_CONFIG_BYTES_ENV}), or why its value is unusable. */
export function maxConfigBytes (env: NodeJS.ProcessEnv = process.env): { ok: true; value: number } | { ok: false; reason: string } {
  const raw = env[MAX_CONFIG_BYTES_ENV]
  if (raw === undefined || raw.trim() === '') return { ok: true, value: DEFAULT_MAX_CONFIG_BYTES }
  const value = Number(raw)
  if (!/^\s*[0-9]+\s*$/.test(raw) || !Number.isSafeInteger(value) || value <= 0) {
    return { ok: false, reason: `${MAX_CONFIG_BYTES_ENV}=${JSON.stringify(raw)} is not a positive number of bytes` }
  }
  return { ok: true, value }
}
