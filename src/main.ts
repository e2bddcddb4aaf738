#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander'
import type { DnsFormat } from './cli/dns.js'
import { MAX_SUMMARY_DAYS } from './cli/max-summary-days.js'
import { MAX_WORKERS, parseWorkers } from './cluster/parse-workers.js'

// Each command's modules are imported when it runs: `serve` does not load the DNS checks, the mail
// parser or the report database of the other commands (start-up time at 100,000 tenants counts).
const io = { stdout: process.stdout, stderr: process.stderr }
const exit = (code: number | undefined): void => {
  if (code !== undefined) process.exitCode = code
}

const program = new Command('mta-sts-host')
  .description('Multi-tenant MTA-STS (RFC 8461) policy host with automatic certificates')
  .showHelpAfterError()

program.command('serve')
  .description('serve the policies of every tenant in the configuration file')
  .requiredOption('-c, --config <file>', 'YAML configuration file')
  .addOption(new Option('--log-level <level>', 'override log.level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .option('--workers <n|auto>', `serve https and http from N worker processes (1 to ${MAX_WORKERS}, auto: one per CPU); this process keeps the configuration, certificates, monitor, reports and ops`, parseWorkersOption)
  .action(async (opts: { config: string; logLevel?: string; workers?: number }) => exit(await (await import('./cli/serve.js')).serveCommand(opts, io)))

program.command('validate')
  .description('check a configuration file and list every problem with file:line:column')
  .argument('<file>', 'YAML configuration file')
  .action(async (file: string) => exit(await (await import('./cli/validate.js')).validateCommand(file, io)))

program.command('dns')
  .description('print the DNS records to publish for each tenant')
  .requiredOption('-c, --config <file>', 'YAML configuration file')
  .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'zone', 'json']).default('text'))
  .action(async (opts: { config: string; format: DnsFormat }) => exit(await (await import('./cli/dns.js')).dnsCommand(opts.config, opts.format, io)))

program.command('check')
  .description('check each tenant\'s MTA-STS set-up like a sender would, and whether it is safe to enforce; for a domain that is not a tenant, its set-up as hosted today and what moving it here means')
  .requiredOption('-c, --config <file>', 'YAML configuration file')
  .argument('[domains...]', 'domains to check, tenants or not (default: all tenants)')
  .option('--json', 'machine-readable output')
  .option('--resolver <ip[:port]...>', 'DNS servers to ask (default: check.resolvers, else the system\'s)')
  .addHelpText('after', '\nExit status: 0 all pass, 1 the worst result is a warning, 2 any failure.\nFor a domain that is not a tenant, warnings are findings about its set-up elsewhere; failures are broken for senders today, or DNS did not answer.')
  .action(async (domains: string[], opts: { config: string; json?: boolean; resolver?: string[] }) => exit(await (await import('./cli/check.js')).checkCommand({
    config: opts.config,
    domains,
    ...(opts.json ? { json: true } : {}),
    ...(opts.resolver ? { resolvers: opts.resolver } : {}),
    colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
  }, io)))

program.command('propose')
  .description('print a tenant entry to paste under tenants: for each domain, from its MX records and any policy it serves today, and the DNS records to publish, in order')
  .requiredOption('-c, --config <file>', 'YAML configuration file')
  .argument('<domains...>', 'domains to propose entries for')
  .option('--resolver <ip[:port]...>', 'DNS servers to ask (default: check.resolvers, else the system\'s)')
  .addHelpText('after', '\nExit status: 0 every entry proposed, 1 a domain is a tenant already or a proposal carries a warning, 2 bad input or a DNS failure.')
  .action(async (domains: string[], opts: { config: string; resolver?: string[] }) => exit(await (await import('./cli/propose.js')).proposeCommand({
    config: opts.config,
    domains,
    ...(opts.resolver ? { resolvers: opts.resolver } : {}),
  }, io)))

/** `--workers`: a whole number of worker processes, or `auto`. */
function parseWorkersOption (value: string): number {
  const workers = parseWorkers(value)
  if (workers === undefined) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_WORKERS}, or auto.`)
  return workers
}

/** `--days`: a whole number of days a summary may cover. */
const parseDays = (value: string): number => {
  const days = Number(value)
  if (!/^\d+$/.test(value) || days < 1 || days > MAX_SUMMARY_DAYS) throw new InvalidArgumentError(`expected a whole number of days from 1 to ${MAX_SUMMARY_DAYS}.`)
  return days
}

const reports = program.command('reports')
  .description('TLS reports (RFC 8460) senders sent about the tenants, stored in reports.database')

reports.command('summary')
  .description('per domain and day: reporting organisations, sessions, failures and the policies senders applied')
  .requiredOption('-c, --config <file>', 'YAML configuration file')
  .argument('[domains...]', 'policy domains to show (default: every domain with reports)')
  .option('--days <n>', 'days ending today, UTC (default: reports.verdict.days)', parseDays)
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExit status: 0 shown (also when no reports are stored yet), 1 bad input or an unreadable database.')
  .action(async (domains: string[], opts: { config: string; days?: number; json?: boolean }) => exit(await (await import('./cli/reports.js')).reportsSummaryCommand({
    config: opts.config,
    domains,
    ...(opts.days === undefined ? {} : { days: opts.days }),
    ...(opts.json ? { json: true } : {}),
  }, io)))

reports.command('import')
  .description('store TLS reports from files: .json and .json.gz reports, .eml mails and mbox files (told apart by content)')
  .requiredOption('-c, --config <file>', 'YAML configuration file (reports.database)')
  .argument('<files...>', 'files to import')
  .addHelpText('after', '\nExit status: 0 all stored (or already stored), 1 something was unreadable, invalid or set aside, 2 bad configuration.')
  .action(async (files: string[], opts: { config: string }) => exit(await (await import('./cli/reports-import.js')).reportsImportCommand(opts.config, files, io)))

await program.parseAsync()
