import { distance } from 'fastest-levenshtein'

/**
 * The candidate closest to `input` when it is a plausible typo of it
 * (edit distance at most 2, or a third of the length for longer words).
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
  return bestDistance > 0 && bestDistance <= limit ? best : undefined
}
