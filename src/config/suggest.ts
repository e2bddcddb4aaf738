import { distance } from 'fastest-levenshtein'

/**
 * The candidate closest to `input` when it is a plausible typo of it
 * (edit distance at most 2, or a third of the length for longer words, and less than the
 * length of either word: `a` is no typo of `ui`).
 */
export function suggest (input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  const needle = input.toLowerCase()
  for (const candidate of candidates) {
    const d = distance(needle, candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  const limit = Math.max(2, Math.floor(input.length / 3))
  return bestDistance > 0 && bestDistance <= limit && bestDistance < Math.min(input.length, best?.length ?? 0) ? best : undefined
}
