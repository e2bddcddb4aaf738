import type { Logger } from 'pino'
import type { Metrics } from '../metrics.js'
import { RESULT_TYPES } from './result-types.js'
import type { IngestOutcome, ReportInput, ReportSink } from './types.js'

/** What {@link countedReportSink} reports to. */
export interface CountedReportSinkDeps {
  readonly metrics: Metrics
  readonly logger: Logger
  /** Whether a policy domain is a tenant now (reports for other domains are kept, and counted apart). */
  readonly isTenant: (domain: string) => boolean
}

/**
 * Wraps a sink (the report database) so every report file leaves one log line and its
 * metrics: files by transport and outcome, sessions by tenant and result.
 */
export function countedReportSink (sink: ReportSink, deps: CountedReportSinkDeps): ReportSink {
  const { metrics, logger } = deps
  const record = (input: ReportInput, outcome: IngestOutcome, setAside: boolean): IngestOutcome => {
    const outcomeLabel = setAside && outcome.status === 'invalid' ? 'set_aside' : outcome.status
    metrics.tlsReports.inc({ transport: input.transport, outcome: outcomeLabel })
    const report = outcome.report
    const domains: string[] = []
    if (report !== undefined && outcome.status === 'stored') {
      for (const policy of report.policies) {
        const tenant = deps.isTenant(policy.domain) ? policy.domain : ''
        domains.push(policy.domain)
        if (policy.successfulSessions > 0) metrics.tlsReportSessions.inc({ tenant, result: 'success' }, policy.successfulSessions)
        let detailed = 0
        for (const failure of policy.failures) {
          detailed += failure.failedSessions
          if (failure.failedSessions > 0) metrics.tlsReportSessions.inc({ tenant, result: RESULT_TYPES.has(failure.resultType) ? failure.resultType : 'other' }, failure.failedSessions)
        }
        // Failed sessions the sender counted but did not detail.
        if (policy.failedSessions > detailed) metrics.tlsReportSessions.inc({ tenant, result: 'other' }, policy.failedSessions - detailed)
      }
    }
    logger.info({
      event: 'tls_report',
      transport: input.transport,
      source: input.source,
      status: outcomeLabel,
      raw_id: outcome.rawId,
      organization: report?.organization ?? null,
      report_id: report?.reportId ?? null,
      domains,
      not_tenants: domains.filter(d => !deps.isTenant(d)),
      error: outcome.error ?? null,
    }, `TLS report ${outcomeLabel}`)
    return outcome
  }
  return {
    async submit (input) {
      return record(input, await sink.submit(input), false)
    },
    async setAside (input, reason) {
      return record(input, await sink.setAside(input, reason), true)
    },
  }
}
