import { mxCoverageCheck } from './mx-coverage-check.js'
import { policyCheck } from './policy-check.js'
import { smtpTlsCheck } from './smtp-tls-check.js'
import { stsTxtCheck } from './sts-txt-check.js'
import { tlsrptTxtCheck } from './tlsrpt-txt-check.js'
import type { Check } from './types.js'

/** Every check of a domain, in report order, with the id used when a check itself fails. */
export const ALL_CHECKS: readonly (readonly [string, Check])[] = Object.freeze([
  ['sts-txt', stsTxtCheck],
  ['policy', policyCheck],
  ['mx-coverage', mxCoverageCheck],
  ['mx-tls', smtpTlsCheck],
  ['tlsrpt-txt', tlsrptTxtCheck],
] as const)
