import { mxCoverageCheck } from './mx-coverage-check.js'
import { policyCheck } from './policy-check.js'
import { smtpTlsCheck } from './smtp-tls-check.js'
import { stsTxtCheck } from './sts-txt-check.js'
import { tlsrptTxtCheck } from './tlsrpt-txt-check.js'
import type { Check } from './types.js'

/** Every check of a domain, in report order. */
export const ALL_CHECKS: readonly Check[] = Object.freeze([
  stsTxtCheck,
  policyCheck,
  mxCoverageCheck,
  smtpTlsCheck,
  tlsrptTxtCheck,
])
