/**
 * Reads mbox files (mboxo and mboxrd, as mail clients and `formail` write them) into the
 * messages they hold.
 */

const FROM_LINE = Buffer.from('From ')

/** Whether `bytes` is an mbox file: it starts with a `From ` separator line. */
export function isMbox (bytes: Buffer): boolean {
  return bytes.subarray(0, FROM_LINE.length).equals(FROM_LINE)
}

/**
 * Splits an mbox file into its messages. A message starts at a `From ` line at the start of
 * the file or after an empty line; that separator line is dropped, and so is the empty line
 * that ends each message. Quoted lines are unquoted the mboxrd way (`>From ` becomes `From `,
 * `>>From ` becomes `>From `), which also reads mboxo. Line endings (LF or CRLF) are kept as
 * they are. Text before the first separator is not a message and is dropped; a file without
 * any separator gives no message.
 */
export function splitMbox (bytes: Buffer): Buffer[] {
  const messages: Buffer[] = []
  let current: Buffer[] | undefined
  let previousBlank = true
  const finish = (): void => {
    if (current === undefined) return
    const last = current[current.length - 1]
    // The empty line before the next separator belongs to the mbox format, not to the message.
    if (last !== undefined && isBlank(last)) current.pop()
    messages.push(Buffer.concat(current))
  }
  for (let start = 0; start < bytes.length;) {
    const newline = bytes.indexOf(0x0a, start)
    const end = newline < 0 ? bytes.length : newline + 1
    const line = bytes.subarray(start, end)
    start = end
    if (previousBlank && line.subarray(0, FROM_LINE.length).equals(FROM_LINE)) {
      finish()
      current = []
      previousBlank = false
      continue
    }
    previousBlank = isBlank(line)
    current?.push(isQuotedFrom(line) ? line.subarray(1) : line)
  }
  finish()
  return messages
}

function isBlank (line: Buffer): boolean {
  return line.length === 1 ? line[0] === 0x0a : line.length === 2 && line[0] === 0x0d && line[1] === 0x0a
}

/** `>From `, `>>From `...: a `From ` line that the writer quoted. */
function isQuotedFrom (line: Buffer): boolean {
  let i = 0
  while (line[i] === 0x3e) i++
  return i > 0 && line.subarray(i, i + FROM_LINE.length).equals(FROM_LINE)
}
