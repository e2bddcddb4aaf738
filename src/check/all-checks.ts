import type { ReportSettings } from '../config/types.js'
import { mxCoverageCheck } from './mx-coverage-check.js'
import { policyCheck } from './policy-check.js'
import { smtpTlsCheck } from './smtp-tls-check.js'
import { stsTxtCheck } from './sts-txt-check.js'
import { tlsReportsCheck } from './tls-reports-check.js'
import { tlsrptTxtCheck } from './tlsrpt-txt-check.js'
import type { Check } from './types.js'

/** Every check of a domain's set-up (DNS, policy, MX), in report order; the TLS reports check comes from {@link allChecks}. */
export const ALL_CHECKS: readonly Check[] = Object.freeze([
  stsTxtCheck,
  policyCheck,
  mxCoverageCheck,
  smtpTlsCheck,
  tlsrptTxtCheck,
])

/**
 * The checks `check` and the monitor run: {@link ALL_CHECKS}, then the TLS
 * reports check when `reports.enabled` and report data can be read
 * (`reportData`, default true). Its enforce gate depends on
 * `reports.verdict.required`, so it is made from the settings.
 */
export function allChecks (reports: ReportSettings, reportData = true): readonly Check[] {
  if (!reports.enabled || !reportData) return ALL_CHECKS
  return Object.freeze([...ALL_CHECKS, tlsReportsCheck(reports.verdict)])
}
