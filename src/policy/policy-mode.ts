/** Policy modes of RFC 8461 section 5, as the configuration schema lists them. */
export const POLICY_MODES = Object.freeze(['enforce', 'testing', 'none'] as const)

/** A policy mode of RFC 8461 section 5. */
export type PolicyMode = typeof POLICY_MODES[number]
