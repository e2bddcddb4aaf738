/** A TXT record to publish: its name (fully qualified, without the trailing dot) and its data. */
export interface TxtRecord {
  readonly name: string
  readonly value: string
}

/**
 * The `_mta-sts.<domain>` TXT record announcing the policy with id `id`
 * (RFC 8461 section 3.1). `dns` prints it; the MTA-STS TXT check expects it.
 */
export function stsTxtRecord (domain: string, id: string): TxtRecord {
  return { name: `_mta-sts.${domain}`, value: `v=STSv1; id=${id}` }
}

/**
 * The `_smtp._tls.<domain>` TXT record asking for TLS reports to `rua`
 * (RFC 8460 section 3), `rua` first. `dns` prints it; the TLS-RPT TXT check expects it.
 */
export function tlsRptTxtRecord (domain: string, rua: readonly string[]): TxtRecord {
  return { name: `_smtp._tls.${domain}`, value: `v=TLSRPTv1; rua=${rua.join(',')}` }
}
