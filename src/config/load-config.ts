import { open } from 'node:fs/promises'
import { isIP } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { isMap, LineCounter, parseDocument } from 'yaml'
import { normalizeHostName, type HostNameResult } from '../domain/host-name.js'
import { normalizeMxPattern } from '../policy/mx-pattern.js'
import { MAX_POLICY_BYTES, renderPolicy } from '../policy/render-policy.js'
import { configLimits, DEFAULT_LIMITS, LIMIT_KEYS, MAX_CONFIG_BYTES_ENV, maxConfigBytes, type ConfigLimits } from './config-limits.js'
import { decodeConfigText } from './decode-config-text.js'
import { isLoopbackHost } from './is-loopback-host.js'
import { parseNetwork } from './parse-network.js'
import { flowNestingTooDeep, MAX_NESTING_DEPTH, structureProblems } from './structure-problems.js'
import { describePath, formatSchemaError } from './format-schema-error.js'
import { resolveAliases } from './resolve-aliases.js'
import { CONFIG_DEFAULTS, MAILBOX_DEFAULTS } from './defaults.js'
import { ownRua } from './own-rua.js'
import type { RawAcme, RawCheck, RawConfig, RawReports, RawStats, RawTenant } from './raw-config.js'
import { configSchema } from './schema.js'
import { MAX_DNS_NAME, tooLongTenantName } from './too-long-tenant-name.js'
import type { AcmeSettings, CheckSettings, Config, ConfigProblem, IssuerName, ReportSettings, SenderRule, StatsSettings, Tenant } from './types.js'
import { YamlLocator } from './yaml-locator.js'

/** Outcome of loading a configuration: all errors at once, or the frozen config. */
export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly errors: readonly ConfigProblem[]; readonly warnings: readonly ConfigProblem[] }

/** Well-known ACME directory names. */
export const ACME_DIRECTORIES: Readonly<Record<string, string>> = Object.freeze({
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
})

const ONE_DAY = 86400
const ONE_WEEK = 604800

const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true })
const validateSchema = ajv.compile(configSchema)

/** Options of {@link loadConfig}. */
export interface LoadOptions {
  /** File-size limit in bytes; default: {@link MAX_CONFIG_BYTES_ENV} from `env`, else 16 MiB. */
  readonly maxFileBytes?: number
  /** Where {@link MAX_CONFIG_BYTES_ENV} is read (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv
}

/**
 * Read, parse, validate and normalise the configuration file at `file`. The
 * size is checked before the file is read, and the bytes must be UTF-8.
 */
export async function loadConfig (file: string, options: LoadOptions = {}): Promise<ConfigResult> {
  const path = resolve(file)
  const fail = (message: string, hint?: string, line = 0, column = 0): ConfigResult =>
    ({ ok: false, errors: [{ file: path, line, column, message, ...(hint ? { hint } : {}) }], warnings: [] })
  const limit = options.maxFileBytes === undefined ? maxConfigBytes(options.env) : { ok: true as const, value: options.maxFileBytes }
  if (!limit.ok) return fail(`cannot check the configuration file's size: ${limit.reason}`, 'unset it (default 16 MiB) or set a number of bytes')
  let bytes: Buffer
  try {
    const handle = await open(path, 'r')
    try {
      const { size } = await handle.stat()
      // Checked again after reading: the file may grow in between.
      bytes = size > limit.value ? Buffer.alloc(0) : await handle.readFile()
      if (size > limit.value || bytes.length > limit.value) {
        return fail(`the configuration file is ${Math.max(size, bytes.length)} bytes, over the limit of ${limit.value}`, `raise it with the environment variable ${MAX_CONFIG_BYTES_ENV}=<bytes>`)
      }
    } finally {
      await handle.close()
    }
  } catch (err) {
    return fail(`cannot read the configuration file: ${(err as Error).message}`)
  }
  const decoded = decodeConfigText(bytes)
  if (!decoded.ok) return fail(decoded.message, decoded.hint, decoded.line, decoded.column)
  return parseConfig(decoded.text, path)
}

/** Formats a problem as `file:line:column: message (hint)`. */
export function formatProblem (p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`
}

/**
 * Validate and normalise configuration text. `file` is used for messages
 * and to resolve relative paths. Never throws on bad input.
 */
export function parseConfig (text: string, file: string): ConfigResult {
  const errors: ConfigProblem[] = []
  const warnings: ConfigProblem[] = []
  const lines = new LineCounter()
  // yaml's own uniqueKeys check is quadratic: structureProblems() finds duplicate keys instead.
  const deep = flowNestingTooDeep(text)
  if (deep !== undefined) {
    const line = text.slice(0, deep.offset).split('\n').length
    const column = deep.offset - text.lastIndexOf('\n', deep.offset - 1)
    return { ok: false, errors: [{ file, line, column, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels`, hint: 'a configuration needs about 5; check for unbalanced [ or {' }], warnings }
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false })
  const locator = new YamlLocator(doc, lines)
  const problem = (path: string[], message: string, hint?: string, atKey = false): ConfigProblem => ({
    file, ...locator.locate(path, { key: atKey }), message, ...(hint ? { hint } : {}),
  })

  for (const e of doc.errors) {
    const { line, col } = lines.linePos(e.pos[0])
    errors.push({ file, line, column: col, message: `YAML syntax error: ${e.message.split('\n')[0]}` })
  }
  // Before anything converts or recursively visits the document: a key that is a collection,
  // or thousands of levels of nesting, would cost minutes and gigabytes there.
  for (const p of structureProblems(doc, lines)) errors.push({ file, ...p })
  if (errors.length > 0) return { ok: false, errors: sortProblems(errors), warnings }

  // Limits are checked on the parsed document, before the work they bound: no conversion of an
  // alias bomb, no schema run over a million tenants.
  const limits = configLimits(doc)
  // Every alias starts with "*": most files have none, and skip the walk.
  for (const p of text.includes('*') ? resolveAliases(doc, limits.aliasNodes) : []) {
    errors.push({ file, ...locator.at(p.offset), message: p.message, ...(p.hint ? { hint: p.hint } : {}) })
  }
  const tenantsNode = doc.get('tenants', true)
  if (isMap(tenantsNode) && tenantsNode.items.length > limits.tenants) {
    errors.push(problem(['tenants'], `${tenantsNode.items.length} tenants, over the limit of ${limits.tenants}`, raiseHint('tenants', limits), true))
  }
  if (errors.length > 0) return { ok: false, errors: sortProblems(errors), warnings }

  let raw: RawConfig
  try {
    // resolveAliases replaced every alias by its (bounded) target: no alias is left to count.
    raw = (doc.toJS({ maxAliasCount: -1 }) ?? {}) as RawConfig
  } catch (err) {
    errors.push({ file, ...locator.locate([]), message: `YAML error: ${(err as Error).message.split('\n')[0]}` })
    return { ok: false, errors, warnings }
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push({ file, ...locator.locate([]), message: 'the configuration must be a mapping of keys (listen, certificates, defaults, tenants)' })
    return { ok: false, errors, warnings }
  }

  if (!validateSchema(raw as unknown)) {
    for (const e of validateSchema.errors ?? []) {
      const finding = formatSchemaError(e)
      if (finding) errors.push(problem(finding.path, finding.message, finding.hint, finding.atKey))
    }
  }

  const configDir = dirname(file)
  const defaults = isObject(raw.defaults) ? raw.defaults : {}
  const mxLists: MxLists = { limits, patterns: new Map(), errors, warnings, problem }
  const defaultMx = normalizeMxList(Array.isArray(defaults.mx) ? defaults.mx : [], ['defaults', 'mx'], mxLists)
  const issuer: IssuerName = raw.certificates?.issuer ?? CONFIG_DEFAULTS.certificates.issuer
  const rawStorage = isObject(raw.certificates) ? raw.certificates.storage : undefined
  const storage = resolve(configDir, typeof rawStorage === 'string' ? rawStorage : CONFIG_DEFAULTS.certificates.storage)
  const reports = reportSettings(isObject(raw.reports) ? raw.reports : {}, storage, configDir)
  if (raw.certificates?.issuer === undefined) {
    warnings.push(problem(['certificates'], 'certificates.issuer is not set: using the internal CA, which mail senders do not trust', 'set issuer: acme (or files) for production'))
  }
  const rawAcme: RawAcme = isObject(raw.certificates?.acme) ? raw.certificates.acme : {}
  if (issuer === 'acme' && rawAcme.terms_of_service_agreed !== true) {
    errors.push(problem(['certificates', 'acme', 'terms_of_service_agreed'], 'the ACME issuer needs certificates.acme.terms_of_service_agreed: true', "read the CA's terms of service (Let's Encrypt: https://letsencrypt.org/repository/), then agree explicitly"))
  }
  if (issuer === 'acme' && rawAcme.email === undefined) {
    warnings.push(problem(['certificates', 'acme'], 'certificates.acme.email is not set: the CA cannot warn you about expiring certificates or account problems', 'set email: hostmaster@your-domain'))
  }
  const filesDirectory = raw.certificates?.files?.directory
  const tenants: Tenant[] = []
  const seen = new Map<string, string>()
  const defaultPolicyBytes = new Map<string, number>()
  const rawTenants = isObject(raw.tenants) ? raw.tenants : {}

  for (const [key, value] of Object.entries(rawTenants)) {
    const at = ['tenants', key]
    const domain = normalizeHostName(key)
    if (!domain.ok) {
      errors.push(problem(at, `tenant domain "${key}" ${domain.reason}`, undefined, true))
    } else {
      const earlier = seen.get(domain.value)
      if (earlier !== undefined) {
        const first = locator.locate(['tenants', earlier], { key: true })
        errors.push(problem(at, `tenant "${key}" duplicates "${earlier}" (both are ${domain.value})`, `first defined at line ${first.line}`, true))
      }
      seen.set(domain.value, earlier ?? key)
      const long = tooLongTenantName(domain.value)
      if (long !== undefined) {
        errors.push(problem(at, `tenant domain "${key}" is too long: ${long} would be ${long.length} characters, over the DNS limit of ${MAX_DNS_NAME}`, `a tenant domain may have at most ${MAX_DNS_NAME - '_smtp._tls.'.length} characters`, true))
      }
    }
    const name = domain.ok ? domain.value : key
    if (name.startsWith('mta-sts.')) {
      warnings.push(problem(at, `tenant "${key}" starts with mta-sts.: tenants are mail domains, and the service answers on mta-sts.<tenant>`, `did you mean "${name.slice(8)}"?`, true))
    }
    if (value !== null && !isObject(value)) continue // the schema already reported the type
    const t: RawTenant = value ?? {}
    const mode = t.mode ?? defaults.mode ?? CONFIG_DEFAULTS.defaults.mode
    const maxAge = t.max_age ?? defaults.max_age ?? CONFIG_DEFAULTS.defaults.max_age
    const mx = Array.isArray(t.mx) ? normalizeMxList(t.mx, [...at, 'mx'], mxLists) : defaultMx
    if (mx.length === 0 && t.mx === undefined) {
      errors.push(problem(at, `tenant "${key}" has no mx patterns`, 'add mx: [mx1.example.com] to the tenant, or defaults.mx for all tenants', true))
    }
    const validMaxAge = Number.isInteger(maxAge) && maxAge >= 0 && maxAge <= 31557600
    if (validMaxAge && maxAge < ONE_DAY) {
      warnings.push(problem(t.max_age === undefined ? ['defaults', 'max_age'] : [...at, 'max_age'], `tenant "${key}" has max_age ${maxAge}, below one day (86400)`, 'senders refetch the policy at most this often; use at least 86400'))
    } else if (validMaxAge && mode === 'enforce' && maxAge < ONE_WEEK) {
      warnings.push(problem(t.max_age === undefined ? ['defaults', 'max_age'] : [...at, 'max_age'], `tenant "${key}" enforces with max_age ${maxAge}, below one week (604800)`, 'RFC 8461 suggests weeks for enforce'))
    }
    let certificate: Tenant['certificate']
    if (t.certificate && typeof t.certificate.cert === 'string' && typeof t.certificate.key === 'string') {
      certificate = Object.freeze({ cert: resolve(configDir, t.certificate.cert), key: resolve(configDir, t.certificate.key) })
      if (issuer !== 'files') warnings.push(problem([...at, 'certificate'], `tenant "${key}" names certificate files, but the issuer is ${issuer}: they are ignored`, 'set certificates.issuer: files', true))
    } else if (issuer === 'files' && filesDirectory === undefined) {
      errors.push(problem(at, `tenant "${key}" has no certificate files`, 'add certificate: {cert, key} to the tenant or set certificates.files.directory', true))
    }
    // Most tenants share the defaults' mx list: their policy's size depends on mode and max_age only.
    const sizeKey = mx === defaultMx && typeof mode === 'string' && typeof maxAge === 'number' ? `${mode} ${maxAge}` : undefined
    let policyBytes = sizeKey === undefined ? undefined : defaultPolicyBytes.get(sizeKey)
    if (policyBytes === undefined) {
      policyBytes = renderPolicy({ mode, mx, maxAge }).length
      if (sizeKey !== undefined) defaultPolicyBytes.set(sizeKey, policyBytes)
    }
    if (policyBytes > MAX_POLICY_BYTES) {
      errors.push(problem(at, `tenant "${key}" has a policy of ${policyBytes} bytes, over the ${MAX_POLICY_BYTES}-byte (64 KiB) limit`, 'senders such as Postfix and mox stop reading at 64 KiB: use fewer mx patterns, e.g. one wildcard (*.mx.example.net) for many hosts', true))
    }
    if (!domain.ok) continue
    tenants.push(Object.freeze({
      domain: domain.value,
      host: `mta-sts.${domain.value}`,
      mode,
      mx: Object.freeze(mx),
      maxAge,
      // A tenant that names no `rua` asks senders to report here: HTTPS on its own policy host, and the mailbox when one is named.
      rua: Object.freeze([...(Array.isArray(t.rua) ? t.rua : Array.isArray(defaults.rua) ? defaults.rua : ownRua(reports, domain.value))]),
      ...(certificate ? { certificate } : {}),
      ...(t.retire === true ? { retire: true as const } : {}),
    }))
  }

  const rawTarget: readonly unknown[] = Array.isArray(raw.dns?.target) ? raw.dns.target : CONFIG_DEFAULTS.dns.target
  const target = rawTarget.map((item, i) => {
    const name = String(item)
    if (isIP(name)) return name
    const host = normalizeHostName(name)
    if (!host.ok) errors.push(problem(['dns', 'target', String(i)], `dns.target "${name}" ${host.reason}`, 'use a host name (CNAME) or an IP address (A/AAAA)'))
    return host.ok ? host.value : name
  })
  const targetNames = target.filter(x => isIP(x) === 0 && normalizeHostName(x).ok)
  if (targetNames.length > 0 && target.length > 1) {
    errors.push(problem(['dns', 'target'], 'dns.target must be either one host name (published as a CNAME) or a list of IP addresses (A/AAAA)', 'a CNAME cannot stand beside other records'))
  }

  const listen = {
    https: Object.freeze({ ...CONFIG_DEFAULTS.listen.https, ...raw.listen?.https }),
    http: Object.freeze({ ...CONFIG_DEFAULTS.listen.http, ...raw.listen?.http }),
    ops: Object.freeze(opsListen(raw.listen?.ops ?? {}, configDir)),
  }
  const names = ['https', 'http', 'ops'] as const
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = listen[names[i] as 'https']
      const b = listen[names[j] as 'https']
      if (a.port !== 0 && a.port === b.port && a.host === b.host) {
        errors.push(problem(['listen', names[j] as string], `listen.${names[j]} uses the same address as listen.${names[i]} (${a.host} port ${a.port})`))
      }
    }
  }

  if (listen.ops.tokenFile === undefined && listen.ops.host !== '' && !isLoopbackHost(listen.ops.host)) {
    errors.push(problem(['listen', 'ops', 'host'], `listen.ops.host ${listen.ops.host} is not a loopback address, and the ops listener has no token`,
      'set listen.ops.token_file (a bearer token), or bind ops to 127.0.0.1'))
  }

  const stats = statsSettings(isObject(raw.stats) ? raw.stats : {}, (path, message, hint) => errors.push(problem(path, message, hint)))
  if (stats.enabled && !reports.enabled) {
    warnings.push(problem(['stats'], 'stats.enabled has no effect while reports.enabled is false: fetch statistics are kept in the report database', 'enable reports, or set stats.enabled: false'))
  }
  const rawUi = isObject(raw.ui) ? raw.ui : {}

  if (errors.length > 0) return { ok: false, errors: sortProblems(errors), warnings: sortProblems(warnings) }

  const config: Config = {
    file,
    listen: Object.freeze(listen),
    log: Object.freeze({ level: raw.log?.level ?? CONFIG_DEFAULTS.log.level }),
    certificates: Object.freeze({
      issuer,
      storage,
      contextCache: raw.certificates?.context_cache ?? CONFIG_DEFAULTS.certificates.context_cache,
      internal: Object.freeze({ leafLifetime: raw.certificates?.internal?.leaf_lifetime ?? CONFIG_DEFAULTS.certificates.internal.leaf_lifetime }),
      files: Object.freeze(filesDirectory === undefined ? {} : { directory: resolve(configDir, filesDirectory) }),
      acme: acmeSettings(rawAcme, configDir),
    }),
    dns: Object.freeze({ target: Object.freeze(target) }),
    check: checkSettings(isObject(raw.check) ? raw.check : {}, configDir),
    reports,
    ...(isObject(raw.database)
      ? {
          database: Object.freeze({
            poolSize: raw.database.pool_size ?? 10,
            ...(typeof raw.database.url_file === 'string' ? { urlFile: resolve(configDir, raw.database.url_file) } : {}),
          }),
        }
      : {}),
    stats,
    ui: Object.freeze({
      enabled: rawUi.enabled ?? CONFIG_DEFAULTS.ui.enabled,
      pageSize: rawUi.page_size ?? CONFIG_DEFAULTS.ui.page_size,
      ...(typeof rawUi.password_file === 'string' ? { passwordFile: resolve(configDir, rawUi.password_file) } : {}),
    }),
    defaults: Object.freeze({
      mode: defaults.mode ?? CONFIG_DEFAULTS.defaults.mode,
      maxAge: defaults.max_age ?? CONFIG_DEFAULTS.defaults.max_age,
      mx: Object.freeze(defaultMx),
      ...(Array.isArray(defaults.rua) ? { rua: Object.freeze([...defaults.rua]) } : {}),
    }),
    tenants: Object.freeze(tenants),
    warnings: Object.freeze(sortProblems(warnings)),
  }
  return { ok: true, config: Object.freeze(config) }
}

function opsListen ({ token_file: tokenFile, ...address }: NonNullable<NonNullable<RawConfig['listen']>['ops']>, configDir: string): Config['listen']['ops'] {
  return { ...CONFIG_DEFAULTS.listen.ops, ...address, ...(typeof tokenFile === 'string' ? { tokenFile: resolve(configDir, tokenFile) } : {}) }
}

function reportSettings (raw: RawReports, storage: string, configDir: string): ReportSettings {
  const d = CONFIG_DEFAULTS.reports
  // Runs before schema errors stop the load (tenants' default rua needs it): values may have any type here.
  const m = isObject(raw.mailbox) && typeof raw.mailbox.password_file === 'string' ? raw.mailbox : undefined
  const md = MAILBOX_DEFAULTS
  return Object.freeze({
    enabled: raw.enabled ?? d.enabled,
    httpsPath: raw.https_path ?? d.https_path,
    ...(raw.mailto === undefined ? {} : { mailto: raw.mailto }),
    database: resolve(configDir, typeof raw.database === 'string' ? raw.database : join(storage, 'reports.sqlite')),
    maxBodyBytes: raw.max_body_bytes ?? d.max_body_bytes,
    maxReportBytes: raw.max_report_bytes ?? d.max_report_bytes,
    maxRatio: raw.max_ratio ?? d.max_ratio,
    rateLimit: Object.freeze({ max: raw.rate_limit?.max ?? d.rate_limit.max, window: raw.rate_limit?.window ?? d.rate_limit.window }),
    ingestRate: raw.ingest_rate ?? d.ingest_rate,
    rawRetentionDays: raw.raw_retention_days ?? d.raw_retention_days,
    retentionDays: raw.retention_days ?? d.retention_days,
    ...(m === undefined
      ? {}
      : {
          mailbox: Object.freeze({
            host: m.host,
            port: m.port ?? (m.security === 'tls' || m.security === undefined ? md.port : 143),
            security: m.security ?? md.security,
            user: m.user,
            passwordFile: resolve(configDir, m.password_file),
            folder: m.folder ?? md.folder,
            after: m.after ?? md.after,
            processedFolder: m.processed_folder ?? md.processed_folder,
            rejectedFolder: m.rejected_folder ?? md.rejected_folder,
            pollInterval: m.poll_interval ?? md.poll_interval,
            maxMessageBytes: m.max_message_bytes ?? md.max_message_bytes,
            ...(typeof m.ca_file === 'string' ? { caFile: resolve(configDir, m.ca_file) } : {}),
          }),
        }),
    verdict: Object.freeze({
      days: raw.verdict?.days ?? d.verdict.days,
      minOrganizations: raw.verdict?.min_organizations ?? d.verdict.min_organizations,
      required: raw.verdict?.required ?? d.verdict.required,
    }),
  })
}

function statsSettings (raw: RawStats, report: (path: string[], message: string, hint?: string) => void): StatsSettings {
  const d = CONFIG_DEFAULTS.stats
  const senders: SenderRule[] = []
  const rules: readonly unknown[] = Array.isArray(raw.senders) ? raw.senders : []
  rules.forEach((item, i) => {
    const rule = item as { name?: unknown, user_agent?: unknown, networks?: unknown } | null
    if (!isObject(rule) || typeof rule.name !== 'string') return // the schema already reported it
    const at = ['stats', 'senders', String(i)]
    const userAgent = typeof rule.user_agent === 'string' ? rule.user_agent : undefined
    if (userAgent !== undefined) {
      try {
        void new RegExp(userAgent, 'i')
      } catch (error) {
        report([...at, 'user_agent'], `stats.senders[${i}].user_agent is not a regular expression: ${(error as Error).message}`, 'write a JavaScript regular expression, e.g. "^Example-MTA/"')
      }
    }
    const networks = Array.isArray(rule.networks) ? rule.networks.map(String) : []
    networks.forEach((network: string, j: number) => {
      if (parseNetwork(network) === undefined) {
        report([...at, 'networks', String(j)], `stats.senders[${i}].networks "${network}" is not an address range`, 'write CIDR notation, e.g. 192.0.2.0/24 or 2001:db8::/32')
      }
    })
    if (userAgent === undefined && networks.length === 0) {
      report(at, `stats.senders[${i}] (${rule.name}) names neither user_agent nor networks`, 'add a user_agent pattern or networks, or remove the entry')
    }
    senders.push(Object.freeze({ name: rule.name as string, ...(userAgent === undefined ? {} : { userAgent }), networks: Object.freeze(networks) }))
  })
  return Object.freeze({
    enabled: raw.enabled ?? d.enabled,
    flushInterval: raw.flush_interval ?? d.flush_interval,
    senders: Object.freeze(senders),
  })
}

function checkSettings (raw: RawCheck, configDir: string): CheckSettings {
  const d = CONFIG_DEFAULTS.check
  return Object.freeze({
    resolvers: Object.freeze([...(raw.resolvers ?? d.resolvers)]),
    timeoutMs: raw.timeout_ms ?? d.timeout_ms,
    concurrency: raw.concurrency ?? d.concurrency,
    smtpPort: raw.smtp_port ?? d.smtp_port,
    httpsPort: raw.https_port ?? d.https_port,
    ...(raw.ca_file === undefined ? {} : { caFile: resolve(configDir, raw.ca_file) }),
    expiryWarningDays: raw.expiry_warning_days ?? d.expiry_warning_days,
    monitor: Object.freeze({ interval: raw.monitor?.interval ?? d.monitor.interval, concurrency: raw.monitor?.concurrency ?? d.monitor.concurrency }),
  })
}

function acmeSettings (raw: RawAcme, configDir: string): AcmeSettings {
  const d = CONFIG_DEFAULTS.certificates.acme
  const directory = raw.directory ?? d.directory
  return Object.freeze({
    directory: ACME_DIRECTORIES[directory] ?? directory,
    ...(raw.email === undefined ? {} : { email: raw.email }),
    termsOfServiceAgreed: raw.terms_of_service_agreed === true,
    ...(raw.eab === undefined ? {} : { eab: Object.freeze({ kid: raw.eab.kid, hmacKey: raw.eab.hmac_key }) }),
    challenges: Object.freeze([...(raw.challenges ?? d.challenges)]),
    keyType: raw.key_type ?? d.key_type,
    ...(raw.ca_file === undefined ? {} : { caFile: resolve(configDir, raw.ca_file) }),
    concurrency: raw.concurrency ?? d.concurrency,
    maxOrders: raw.max_orders ?? d.max_orders,
    orderWindow: raw.order_window ?? d.order_window,
  })
}

/** What normalising the mx lists of one file shares. */
interface MxLists {
  readonly limits: ConfigLimits
  /** Patterns already normalised: tenants sharing a list (defaults, YAML aliases) repeat the same ones. */
  readonly patterns: Map<string, HostNameResult>
  readonly errors: ConfigProblem[]
  readonly warnings: ConfigProblem[]
  readonly problem: (path: string[], message: string, hint?: string, atKey?: boolean) => ConfigProblem
}

function normalizeMxList (list: unknown[], at: string[], ctx: MxLists): string[] {
  const out: string[] = []
  if (list.length > ctx.limits.mxPerTenant) {
    ctx.errors.push(ctx.problem(at, `${describePath(at)} has ${list.length} patterns, over the limit of ${ctx.limits.mxPerTenant}`, `use wildcard patterns (*.mx.example.net), or ${raiseHint('mxPerTenant', ctx.limits)}`, true))
    return out
  }
  const seen = new Set<string>()
  list.forEach((item, i) => {
    if (typeof item !== 'string') return
    let pattern = ctx.patterns.get(item)
    if (pattern === undefined) {
      pattern = normalizeMxPattern(item)
      ctx.patterns.set(item, pattern)
    }
    const where = [...at, String(i)]
    if (!pattern.ok) {
      ctx.errors.push(ctx.problem(where, `${describePath(at)} pattern "${item}" ${pattern.reason}`))
    } else if (seen.has(pattern.value)) {
      ctx.warnings.push(ctx.problem(where, `${describePath(at)} lists "${pattern.value}" twice; the duplicate is dropped`))
    } else {
      seen.add(pattern.value)
      out.push(pattern.value)
    }
  })
  return out
}

/** How to raise one limit, naming its key and default. */
function raiseHint (field: keyof ConfigLimits, limits: ConfigLimits): string {
  return `raise limits.${LIMIT_KEYS[field]} (now ${limits[field]}, default ${DEFAULT_LIMITS[field]})`
}

function isObject<T> (value: T | null | undefined): value is T {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function sortProblems (list: ConfigProblem[]): ConfigProblem[] {
  return list.sort((a, b) => a.line - b.line || a.column - b.column)
}
