#!/usr/bin/env node
import { Command, Option } from 'commander'
import { dnsCommand, type DnsFormat } from './cli/dns.js'
import { serveCommand } from './cli/serve.js'
import { validateCommand } from './cli/validate.js'

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
  .action(async (opts: { config: string; logLevel?: string }) => exit(await serveCommand(opts, io)))

program.command('validate')
  .description('check a configuration file and list every problem with file:line:column')
  .argument('<file>', 'YAML configuration file')
  .action(async (file: string) => exit(await validateCommand(file, io)))

program.command('dns')
  .description('print the DNS records to publish for each tenant')
  .requiredOption('-c, --config <file>', 'YAML configuration file')
  .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'zone', 'json']).default('text'))
  .action(async (opts: { config: string; format: DnsFormat }) => exit(await dnsCommand(opts.config, opts.format, io)))

await program.parseAsync()
