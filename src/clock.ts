/** Source of the current time, so certificate lifetimes can be tested without waiting. */
export interface Clock {
  now (): Date
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({ now: () => new Date() })

/** A clock that only moves when told to, for tests. */
export class ManualClock implements Clock {
  #ms: number

  constructor (start: Date = new Date()) {
    this.#ms = start.getTime()
  }

  now (): Date {
    return new Date(this.#ms)
  }

  /** Move the clock forward by `ms` milliseconds. */
  advance (ms: number): void {
    this.#ms += ms
  }
}
