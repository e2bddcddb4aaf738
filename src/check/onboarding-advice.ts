import { mxMatches } from '../policy/mx-pattern.js'
import type { DomainSurvey } from './survey-domain.js'
import type { CheckResult } from './types.js'

const DAY = 86400

/** Whole days a sender may keep a policy of `maxAge` seconds (rounded up). */
export function cacheDays (maxAge: number): number {
  return Math.ceil(maxAge / DAY)
}

/** `n day(s)` with the right plural. */
function days (n: number): string {
  return `${n} day${n === 1 ? '' : 's'}`
}

/**
 * What moving a domain that is not a tenant here would mean, in plain
 * sentences, from its survey, the MX TLS probe results and the report
 * addresses (`rua`) it would get here (empty when this service takes none).
 */
export function onboardingAdvice (survey: DomainSurvey, mxTls: readonly CheckResult[], rua: readonly string[]): string[] {
  const { domain, policy, stsTxt, tlsRptTxt } = survey
  const advice: string[] = []
  const hosts = survey.mx.ok ? survey.mx.hosts : []
  if (policy.kind === 'served') {
    const { mode, mx, maxAge } = policy.policy
    const cache = `senders may cache the ${mode} policy from elsewhere for up to ${days(cacheDays(maxAge))} more (max_age ${maxAge} s)`
    if (mode === 'none') advice.push(`${cache}; it asks for nothing, so moving here in mode testing breaks nothing`)
    else advice.push(`${cache}: keep its mx patterns (${mx.join(', ')}) and mode ${mode} until then (propose keeps them)`)
    const uncovered = hosts.filter(host => !mx.some(p => mxMatches(p, host)))
    for (const host of uncovered) {
      advice.push(`the current policy does not cover MX host ${host}${mode === 'enforce' ? ': senders holding it refuse mail to it today' : ''}; add it to mx (propose does)`)
    }
  } else if (stsTxt.kind === 'none') {
    advice.push('no MTA-STS today: start with mode testing')
  }
  if (stsTxt.kind !== 'none' && policy.kind !== 'served') {
    advice.push('_mta-sts is published but senders get no valid policy: they keep any policy they cached earlier until its max_age runs out, and cannot be shown its mx patterns here; serve the policy here first, then publish the new _mta-sts id')
  }
  const failing = mxTls.filter(r => r.status !== 'pass').map(r => (r.details as { host: string }).host)
  if (failing.length > 0) advice.push(`fix STARTTLS and the certificate of ${failing.join(', ')} before mode enforce: senders in enforce mode refuse an MX host that fails them`)
  if (rua.length > 0) {
    if (tlsRptTxt.kind !== 'published') advice.push(`no usable _smtp._tls record: publish one with rua=${rua.join(',')} to receive the TLS reports here`)
    else if (!rua.every(uri => tlsRptTxt.rua.includes(uri))) advice.push(`TLS reports go to ${tlsRptTxt.rua.join(',')} today: add ${rua.join(',')} to its rua to receive them here`)
  }
  advice.push(`mta-sts-host propose ${domain} prints the tenant entry and the DNS records to publish, in order (the _mta-sts TXT last)`)
  return advice
}
