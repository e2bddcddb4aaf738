/** Whether `bytes` start with the gzip magic `1f 8b`: how every report file is told apart, whatever its label. */
export function isGzip (bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b
}
