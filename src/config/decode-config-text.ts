import { isUtf8 } from 'node:buffer'

/** The text of a configuration file, or why its bytes are not UTF-8 (with the 1-based position). */
export type DecodedText =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly line: number; readonly column: number; readonly message: string; readonly hint: string }

const BYTE_ORDER_MARKS: readonly [Buffer, string][] = [
  // UTF-32 first: its little-endian mark starts with UTF-16's.
  [Buffer.from([0xff, 0xfe, 0x00, 0x00]), 'UTF-32 (little-endian)'],
  [Buffer.from([0x00, 0x00, 0xfe, 0xff]), 'UTF-32 (big-endian)'],
  [Buffer.from([0xff, 0xfe]), 'UTF-16 (little-endian)'],
  [Buffer.from([0xfe, 0xff]), 'UTF-16 (big-endian)'],
]

/**
 * Decode configuration bytes as UTF-8 (a UTF-8 byte order mark is allowed).
 * UTF-16 and UTF-32 files (by byte order mark, or by the NUL bytes that
 * ASCII characters leave in them) are named as such; other bytes that are
 * not UTF-8 (Latin-1, say) are reported at their line. Never guesses and
 * converts: the operator's editor should save UTF-8.
 */
export function decodeConfigText (bytes: Buffer): DecodedText {
  const hint = 'save the file as UTF-8, e.g. iconv -f <encoding> -t UTF-8 FILE > FILE.utf8'
  const marked = BYTE_ORDER_MARKS.find(([mark]) => bytes.subarray(0, mark.length).equals(mark))
  if (marked) return { ok: false, line: 1, column: 1, message: `the configuration file is ${marked[1]} text, not UTF-8`, hint }
  const nul = bytes.indexOf(0)
  if (nul >= 0) {
    const wide = nul % 2 === 0 ? 'big-endian' : 'little-endian'
    return { ok: false, line: 1, column: 1, message: `the configuration file contains NUL bytes: it looks like UTF-16 (${wide}) or UTF-32 text, not UTF-8`, hint }
  }
  if (isUtf8(bytes)) return { ok: true, text: bytes.toString('utf8') }
  // A newline byte never occurs inside a UTF-8 sequence: check line by line to find the first bad one.
  let start = 0
  let line = 1
  for (;;) {
    const end = bytes.indexOf(0x0a, start)
    const slice = bytes.subarray(start, end < 0 ? bytes.length : end)
    if (!isUtf8(slice)) {
      const column = slice.toString('utf8').indexOf('\ufffd') + 1
      return { ok: false, line, column: Math.max(column, 1), message: 'the configuration file is not valid UTF-8 (Latin-1 or another legacy encoding?)', hint }
    }
    start = end + 1
    line++
  }
}
