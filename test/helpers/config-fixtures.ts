import { parseConfig } from '../../src/config/load-config.js'
import type { Config } from '../../src/config/types.js'

/** Parse YAML text into a valid Config, or throw with the problems. */
export function configFrom (yaml: string, file = '/etc/mta-sts/config.yaml'): Config {
  const result = parseConfig(yaml, file)
  if (!result.ok) throw new Error(result.errors.map(e => `${e.line}:${e.column}: ${e.message}`).join('\n'))
  return result.config
}
