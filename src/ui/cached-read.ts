/**
 * `read`, remembered for `ttlMs` milliseconds by the `now` clock: callers within that
 * time share one read (also one still running). A failed read is not remembered.
 */
export function cachedRead<T> (read: () => Promise<T>, ttlMs: number, now: () => Date): () => Promise<T> {
  let entry: { readonly at: number, readonly value: Promise<T> } | undefined
  return () => {
    const at = now().getTime()
    if (entry !== undefined && at - entry.at < ttlMs && at >= entry.at) return entry.value
    const value = read()
    const current = { at, value }
    entry = current
    value.catch(() => { if (entry === current) entry = undefined })
    return value
  }
}
