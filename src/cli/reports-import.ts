import { readFile } from 'node:fs/promises'
import { formatProblem, loadConfig } from '../config/load-config.js'
import type { ReportStore } from '../db/report-store.js'
import { openCliReportStore, type Opened } from './open-cli-report-store.js'
import { isGzip } from '../reports/is-gzip.js'
import { extractMailReports, looksLikeMail } from '../reports/mail-reports.js'
import { isMbox, splitMbox } from '../reports/mbox.js'
import { startsLikeJson } from '../reports/starts-like-json.js'
import type { IngestOutcome, ReportSink } from '../reports/types.js'
import type { CommandIo } from './validate.js'

/** Outcomes of one imported file, counted. */
interface FileTally {
  stored: number
  duplicate: number
  invalid: number
  setAside: number
  errors: string[]
}

/** Imports one mail: its report attachments, or the whole mail set aside with the reason. */
async function importMail (sink: ReportSink, mail: Buffer, source: string, tally: FileTally): Promise<void> {
  const found = await extractMailReports(mail)
  if (found.reports.length === 0) {
    await sink.setAside({ bytes: mail, transport: 'import', source }, found.reason ?? 'no TLS report in this message')
    tally.setAside++
    tally.errors.push(`${source}: set aside: ${found.reason ?? 'no TLS report in this message'}`)
    return
  }
  for (const [i, report] of found.reports.entries()) {
    count(await sink.submit({ bytes: report.bytes, transport: 'import', source: `${source}#${i + 1}`, label: report.filename ?? report.contentType }), `${source}#${i + 1}`, tally)
  }
}

function count (outcome: IngestOutcome, source: string, tally: FileTally): void {
  if (outcome.status === 'stored') tally.stored++
  else if (outcome.status === 'duplicate') tally.duplicate++
  else {
    tally.invalid++
    tally.errors.push(`${source}: kept, but not a valid TLS report: ${outcome.error ?? ''}`)
  }
}

/**
 * `reports import --config FILE PATH...`: stores TLS reports from files into the report
 * database, as the HTTPS and mailbox intake would: `.json` and `.json.gz` reports, `.eml`
 * mails and mbox files, told apart by content, not name. A report that does not parse is
 * kept and flagged; a mail without a report is set aside with the reason. Exit status: 0
 * when everything was stored (or already was), 1 when something was unreadable, invalid or
 * set aside, 2 for a bad configuration.
 */
export async function reportsImportCommand (configFile: string, paths: readonly string[], io: CommandIo): Promise<number> {
  const result = await loadConfig(configFile)
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`error: ${formatProblem(e)}\n`)
    return 2
  }
  const opened = await openCliReportStore(result.config, { create: true }) as Opened<ReportStore>
  const store = opened.value
  const total: FileTally = { stored: 0, duplicate: 0, invalid: 0, setAside: 0, errors: [] }
  let unreadable = 0
  try {
    for (const path of paths) {
      const tally: FileTally = { stored: 0, duplicate: 0, invalid: 0, setAside: 0, errors: [] }
      let bytes: Buffer
      try {
        bytes = await readFile(path)
      } catch (error) {
        io.stderr.write(`error: ${path}: cannot read: ${(error as Error).message}\n`)
        unreadable++
        continue
      }
      // JSON before mail: `{"organization-name": ...` has the shape of a header line.
      if (isGzip(bytes) || startsLikeJson(bytes)) {
        count(await store.submit({ bytes, transport: 'import', source: path, label: path }), path, tally)
      } else if (isMbox(bytes)) {
        for (const [i, mail] of splitMbox(bytes).entries()) await importMail(store, mail, `${path}:${i + 1}`, tally)
      } else if (looksLikeMail(bytes)) {
        await importMail(store, bytes, path, tally)
      } else {
        io.stderr.write(`error: ${path}: neither a TLS report (JSON or gzip), a mail nor an mbox file\n`)
        unreadable++
        continue
      }
      for (const line of tally.errors) io.stderr.write(`warning: ${line}\n`)
      io.stdout.write(`${path}: ${tally.stored} stored, ${tally.duplicate} already stored, ${tally.invalid} invalid, ${tally.setAside} set aside\n`)
      for (const key of ['stored', 'duplicate', 'invalid', 'setAside'] as const) total[key] += tally[key]
    }
  } finally {
    await opened.close()
  }
  if (paths.length > 1) io.stdout.write(`total: ${total.stored} stored, ${total.duplicate} already stored, ${total.invalid} invalid, ${total.setAside} set aside, ${unreadable} unreadable\n`)
  return unreadable + total.invalid + total.setAside > 0 ? 1 : 0
}
