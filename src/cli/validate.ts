import { formatProblem, loadConfig } from '../config/load-config.js'

/** Output streams of a command, so tests can capture them. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
}

/**
 * `validate FILE`: print every error and warning with file:line:column.
 * Returns the exit code: 0 valid (warnings allowed), 1 invalid.
 */
export async function validateCommand (file: string, io: CommandIo): Promise<number> {
  const result = await loadConfig(file)
  const warnings = result.ok ? result.config.warnings : result.warnings
  for (const w of warnings) io.stderr.write(`warning: ${formatProblem(w)}\n`)
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`error: ${formatProblem(e)}\n`)
    io.stderr.write(`${result.errors.length} error(s): configuration is invalid\n`)
    return 1
  }
  const { config } = result
  io.stdout.write(`${config.file}: ok, ${config.tenants.length} tenant(s), issuer ${config.certificates.issuer}, ${warnings.length} warning(s)\n`)
  return 0
}
