import { isIP } from 'node:net'

/** A CIDR range (or a single address) as address, family and prefix length; undefined when it is not one. */
export function parseNetwork (text: string): { address: string, family: 'ipv4' | 'ipv6', prefix: number } | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/')
  const version = isIP(address)
  if (version === 0 || extra !== undefined) return undefined
  const max = version === 4 ? 32 : 128
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN
  if (!(prefix >= 0 && prefix <= max)) return undefined
  return { address, family: version === 4 ? 'ipv4' : 'ipv6', prefix }
}
