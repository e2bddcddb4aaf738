import type { SenderRule } from '../config/types.js'

/**
 * Sender classes recognised without configuration, by a product or operator name in the
 * User-Agent header of the policy fetch. Senders do not document the User-Agent of their MTA-STS
 * fetchers, and most send a generic one (or none): these patterns only catch those that name
 * themselves, and everything else counts as `other`. Operators add what they observe in the fetch
 * log (`user_agent`, `client`) as `stats.senders`, by User-Agent or by address range, which are
 * checked first.
 */
export const BUILTIN_SENDERS: readonly SenderRule[] = Object.freeze([
  { name: 'google', userAgent: String.raw`\bgoogle`, networks: [] },
  { name: 'microsoft', userAgent: String.raw`\b(microsoft|outlook|exchange)`, networks: [] },
  { name: 'yahoo', userAgent: String.raw`\byahoo`, networks: [] },
  { name: 'postfix', userAgent: String.raw`\bpostfix`, networks: [] },
  { name: 'exim', userAgent: String.raw`\bexim\b`, networks: [] },
  { name: 'stalwart', userAgent: String.raw`\bstalwart`, networks: [] },
  { name: 'mox', userAgent: String.raw`\bmox\b`, networks: [] },
].map(rule => Object.freeze({ ...rule, networks: Object.freeze(rule.networks) })))

/** The class of fetches no rule recognises. */
export const OTHER_SENDER = 'other'
