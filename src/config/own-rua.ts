import { CONFIG_DEFAULTS } from './defaults.js'
import type { Config, ReportSettings } from './types.js'

/**
 * The report addresses of a tenant that names no `rua` while `defaults.rua`
 * is unset: this service's own, HTTPS on the tenant's policy host
 * (`https://mta-sts.<domain><reports.https_path>`) and `mailto:<reports.mailto>`
 * when one is named; the built-in default (none) while `reports.enabled` is false.
 */
export function ownRua (reports: Pick<ReportSettings, 'enabled' | 'httpsPath' | 'mailto'>, domain: string): string[] {
  return reports.enabled
    ? [`https://mta-sts.${domain}${reports.httpsPath}`, ...(reports.mailto === undefined ? [] : [`mailto:${reports.mailto}`])]
    : [...CONFIG_DEFAULTS.defaults.rua]
}

/**
 * The report addresses a tenant entry for `domain` gets when it names no
 * `rua`: `defaults.rua` when set, else {@link ownRua}.
 */
export function defaultRua (config: Pick<Config, 'defaults' | 'reports'>, domain: string): string[] {
  return config.defaults.rua === undefined ? ownRua(config.reports, domain) : [...config.defaults.rua]
}
