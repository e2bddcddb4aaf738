import type { CheckStatus, DomainReport, OnboardingReport } from './types.js'

const COLOURS: Readonly<Record<CheckStatus, string>> = { pass: '\u001b[32m', warn: '\u001b[33m', fail: '\u001b[31m' }
const RESET = '\u001b[0m'

/**
 * The exit status of `check`: 0 all pass, 1 worst is a warning, 2 any failure
 * (for a domain that is not a tenant, warnings are findings about its set-up
 * elsewhere and failures are broken for senders today; see {@link OnboardingReport}).
 */
export function exitCode (reports: readonly DomainReport[]): number {
  if (reports.some(r => r.status === 'fail')) return 2
  if (reports.some(r => r.status === 'warn')) return 1
  return 0
}

/**
 * A readable report: per domain a line per check (status, name, reason),
 * the fix hint under each warning or failure, then the verdict (for a domain
 * that is not a tenant: what moving it here means). Colour only
 * when `colour` is set (the CLI sets it for terminals).
 */
export function formatTable (reports: readonly DomainReport[], colour: boolean): string {
  const paint = (status: CheckStatus, text: string): string => colour ? `${COLOURS[status]}${text}${RESET}` : text
  const lines: string[] = []
  for (const report of reports) {
    const onboarding = isOnboardingReport(report) ? report : undefined
    lines.push(onboarding ? `${report.domain} (not a tenant: its set-up as hosted today)` : `${report.domain}`)
    const width = Math.max(...report.results.map(r => r.name.length), 4)
    for (const r of report.results) {
      lines.push(`  ${paint(r.status, r.status.toUpperCase().padEnd(4))}  ${r.name.padEnd(width)}  ${r.reason}`)
      if (r.hint && r.status !== 'pass') lines.push(`  ${' '.repeat(4)}  ${' '.repeat(width)}  fix: ${r.hint}`)
    }
    if (onboarding) {
      lines.push(`  => moving ${report.domain} here:`)
      for (const advice of onboarding.advice) lines.push(`     - ${advice}`)
    } else {
      lines.push(report.readyForEnforce
        ? `  => ${paint('pass', 'ready for enforce')}`
        : `  => ${paint('fail', 'not ready for enforce')}: ${report.reasons.length} problem(s) above`)
    }
    lines.push('')
  }
  const counts = { pass: 0, warn: 0, fail: 0 }
  for (const r of reports) counts[r.status]++
  const outsiders = reports.filter(isOnboardingReport).length
  lines.push(`${reports.length} domain(s): ${counts.pass} pass, ${counts.warn} warn, ${counts.fail} fail; ${reports.filter(r => r.readyForEnforce).length} ready for enforce${outsiders > 0 ? `; ${outsiders} not a tenant` : ''}`)
  return lines.join('\n') + '\n'
}

/** Whether a report is of a domain that is not a tenant (it carries facts and advice). */
export function isOnboardingReport (report: DomainReport): report is OnboardingReport {
  return (report as Partial<OnboardingReport>).tenant === false
}

/** The machine form: the reports as JSON, with the summary. */
export function formatJson (reports: readonly DomainReport[]): string {
  return JSON.stringify({ exitCode: exitCode(reports), domains: reports }, null, 2) + '\n'
}
