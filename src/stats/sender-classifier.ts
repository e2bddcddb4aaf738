import { BlockList, isIPv4 } from 'node:net'
import type { SenderRule } from '../config/types.js'
import { parseNetwork } from '../config/parse-network.js'
import { BUILTIN_SENDERS, OTHER_SENDER } from './builtin-senders.js'

/** Distinct User-Agent strings whose class is remembered; the cache starts over when full. */
const MAX_CACHED_AGENTS = 1000

/**
 * Names the sender of a policy fetch: the first rule whose address ranges hold the client
 * address or whose pattern matches its User-Agent, the configured rules before the built-in ones
 * ({@link BUILTIN_SENDERS}), else `other`. User-Agent answers are cached, so the hot path is one
 * Map lookup (plus one range lookup when a rule names networks).
 */
export class SenderClassifier {
  readonly #rules: ReadonlyArray<{ name: string, agent?: RegExp, networks?: BlockList }>
  readonly #byNetwork: boolean
  readonly #agents = new Map<string, string>()

  constructor (configured: readonly SenderRule[], builtIn: readonly SenderRule[] = BUILTIN_SENDERS) {
    this.#rules = [...configured, ...builtIn].map(rule => {
      let networks: BlockList | undefined
      for (const text of rule.networks) {
        const network = parseNetwork(text)
        if (network === undefined) continue // rejected when the configuration was loaded
        networks ??= new BlockList()
        networks.addSubnet(network.address, network.prefix, network.family)
      }
      return { name: rule.name, ...(rule.userAgent === undefined ? {} : { agent: new RegExp(rule.userAgent, 'i') }), ...(networks ? { networks } : {}) }
    })
    this.#byNetwork = this.#rules.some(rule => rule.networks !== undefined)
  }

  /** The sender class of a fetch from `ip` with this User-Agent (absent: none sent). */
  classify (userAgent: string | undefined, ip: string): string {
    if (this.#byNetwork) {
      const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip
      const family = isIPv4(v4) ? 'ipv4' : 'ipv6'
      for (const rule of this.#rules) {
        if (rule.networks?.check(v4, family) === true) return rule.name
        if (rule.agent !== undefined && userAgent !== undefined && rule.agent.test(userAgent)) return rule.name
      }
      return OTHER_SENDER
    }
    if (userAgent === undefined) return OTHER_SENDER
    const known = this.#agents.get(userAgent)
    if (known !== undefined) return known
    const name = this.#rules.find(rule => rule.agent?.test(userAgent) === true)?.name ?? OTHER_SENDER
    if (this.#agents.size >= MAX_CACHED_AGENTS) this.#agents.clear()
    this.#agents.set(userAgent, name)
    return name
  }
}
