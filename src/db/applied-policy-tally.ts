import type { AppliedPolicySummary, CountedValue } from './report-store.js'

/** Adds `sessions` to `key`'s running total; a null key (a field the sender left out) is not counted. */
export function addCount (totals: Map<string, number>, key: string | null, sessions: number): void {
  if (key === null) return
  totals.set(key, (totals.get(key) ?? 0) + sessions)
}

/** A totals map as a list, most sessions first, then by value. */
export function ranked (totals: ReadonlyMap<string, number>): CountedValue[] {
  return [...totals].map(([value, sessions]) => ({ value, sessions }))
    .sort((a, b) => b.sessions - a.sessions || (a.value < b.value ? -1 : 1))
}

/**
 * Running totals of the sessions senders reported under one applied policy (type, mode, mx),
 * from rows of the database or from summaries already made; {@link AppliedPolicyTally.summary}
 * gives them back as an {@link AppliedPolicySummary}.
 */
export class AppliedPolicyTally {
  readonly #policy: Pick<AppliedPolicySummary, 'type' | 'mode' | 'mx'>
  readonly #organizations = new Set<string>()
  readonly #failureTypes = new Map<string, number>()
  readonly #failingMxHosts = new Map<string, number>()
  #successful = 0
  #failed = 0

  constructor (policy: Pick<AppliedPolicySummary, 'type' | 'mode' | 'mx'>) {
    this.#policy = { type: policy.type, mode: policy.mode, mx: policy.mx }
  }

  /** Sessions one or more organisations reported. */
  addSessions (organizations: Iterable<string>, successful: number, failed: number): void {
    for (const organization of organizations) this.#organizations.add(organization)
    this.#successful += successful
    this.#failed += failed
  }

  /** Failed sessions of one result type at one receiving MX host (null: not named). */
  addFailure (resultType: string, mxHost: string | null, sessions: number): void {
    addCount(this.#failureTypes, resultType, sessions)
    addCount(this.#failingMxHosts, mxHost, sessions)
  }

  /** Everything of a summary made before (another day, another group). */
  addSummary (summary: AppliedPolicySummary): void {
    this.addSessions(summary.organizations, summary.successfulSessions, summary.failedSessions)
    for (const { value, sessions } of summary.failureTypes) addCount(this.#failureTypes, value, sessions)
    for (const { value, sessions } of summary.failingMxHosts) addCount(this.#failingMxHosts, value, sessions)
  }

  summary (): AppliedPolicySummary {
    return {
      ...this.#policy,
      organizations: [...this.#organizations].sort(),
      successfulSessions: this.#successful,
      failedSessions: this.#failed,
      failureTypes: ranked(this.#failureTypes),
      failingMxHosts: ranked(this.#failingMxHosts),
    }
  }
}
