import { policyId } from './policy-id.js'
import { renderPolicy, type PolicyFields } from './render-policy.js'

/** A rendered policy: its text, the bytes written to the wire and its id. */
export interface PolicyText {
  /** The exact policy text (CRLF lines). */
  readonly policy: string
  /** The same text as the bytes written to the wire (shared: never written to). */
  readonly body: Buffer
  /** The id to publish in `_mta-sts.<domain>` TXT ({@link policyId} of the text). */
  readonly id: string
}

/**
 * Renders policies, each distinct text once: the tenants of a provider mostly
 * share one policy (the defaults' mode, mx and max_age), so building a
 * snapshot of 100,000 of them hashes a handful of texts and keeps one body
 * and one id per text instead of one per tenant. Lives as long as one build.
 */
export class PolicyTexts {
  readonly #texts = new Map<string, PolicyText>()

  /** The rendered policy of `fields`; `id` when the caller computed it already (it is not checked). */
  of (fields: PolicyFields, id?: string): PolicyText {
    const policy = renderPolicy(fields)
    let text = this.#texts.get(policy)
    if (text === undefined) {
      text = Object.freeze({ policy, body: Buffer.from(policy, 'ascii'), id: id ?? policyId(policy) })
      this.#texts.set(policy, text)
    }
    return text
  }

  /** Distinct texts rendered so far. */
  get size (): number {
    return this.#texts.size
  }
}
