import type { ConfigResult } from '../config/load-config.js'
import type { Config, ConfigProblem, Tenant } from '../config/types.js'
import { PolicyTexts } from '../policy/policy-texts.js'

/** A tenant with its policy id, as prepared (in a worker for large files). */
export interface PreparedTenant extends Tenant {
  readonly id: string
}

/** Everything of a {@link Config} except the long lists. */
export type ConfigBase = Omit<Config, 'tenants' | 'warnings'>

/**
 * A loaded configuration in a form that crosses threads cheaply and can be
 * taken apart in small steps: the long lists (tenants, errors, warnings) are
 * JSON arrays of at most `chunkSize` items, each in an ArrayBuffer of its own
 * (transferred between threads, not copied), so the receiving thread never
 * deserialises 100,000 objects in one go.
 */
export type PreparedConfig =
  | { readonly ok: true; readonly config: ConfigBase; readonly tenants: readonly ArrayBuffer[]; readonly warnings: readonly ArrayBuffer[] }
  | { readonly ok: false; readonly errors: readonly ArrayBuffer[]; readonly warnings: readonly ArrayBuffer[] }

/** Tenants (or problems) per chunk: small enough that decoding one chunk takes a few milliseconds. */
export const DEFAULT_CHUNK_SIZE = 500

/**
 * Compute every tenant's policy id (hashing is the costly part of building a
 * snapshot; each distinct policy is hashed once) and pack `result` into chunks of `chunkSize` items.
 */
export function prepareConfig (result: ConfigResult, chunkSize = DEFAULT_CHUNK_SIZE): PreparedConfig {
  if (!result.ok) return { ok: false, errors: encodeChunks(result.errors, chunkSize), warnings: encodeChunks(result.warnings, chunkSize) }
  const { tenants, warnings, ...config } = result.config
  const texts = new PolicyTexts()
  const prepared = tenants.map((t): PreparedTenant => ({ ...t, id: texts.of(t).id }))
  return { ok: true, config, tenants: encodeChunks(prepared, chunkSize), warnings: encodeChunks(warnings, chunkSize) }
}

/** The buffers of `prepared`, for postMessage's transfer list. */
export function preparedBuffers (prepared: PreparedConfig): ArrayBuffer[] {
  return [...(prepared.ok ? prepared.tenants : prepared.errors), ...prepared.warnings]
}

/** The items of one chunk made by {@link prepareConfig}. */
export function decodeChunk<T> (chunk: ArrayBuffer): T[] {
  return JSON.parse(Buffer.from(chunk).toString('utf8')) as T[]
}

/** Decode every chunk of problems, one chunk per `yieldTurn()`. */
export async function decodeProblems (chunks: readonly ArrayBuffer[], yieldTurn: () => Promise<void>): Promise<ConfigProblem[]> {
  const out: ConfigProblem[] = []
  for (const chunk of chunks) {
    await yieldTurn()
    for (const p of decodeChunk<ConfigProblem>(chunk)) out.push(Object.freeze(p))
  }
  return out
}

function encodeChunks (items: readonly unknown[], chunkSize: number): ArrayBuffer[] {
  const out: ArrayBuffer[] = []
  for (let i = 0; i < items.length; i += chunkSize) {
    const json = JSON.stringify(items.slice(i, i + chunkSize))
    // A buffer of its own (never a slice of Buffer's shared pool), so it can be transferred.
    const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json))
    bytes.write(json)
    out.push(bytes.buffer as ArrayBuffer)
  }
  return out
}
