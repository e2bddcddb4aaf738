/**
 * Whether bytes could be a JSON object: the first character past a UTF-8 BOM and white space
 * is `{`. Cheap enough for every upload; parsing decides the rest.
 */
export function startsLikeJson (bytes: Buffer): boolean {
  let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++
  return bytes[i] === 0x7b
}
