import type { CheckStatus } from '../check/types.js'
import type { CertificateStatus } from '../tls/certificate-types.js'
import { escapeHtml } from './escape-html.js'
import type { TxtState } from './overview-rows.js'

/** How a state looks: every state has a symbol and words; the colour class only adds to them. */
export type Tone = 'good' | 'warn' | 'bad' | 'none'

/** A state as HTML: symbol and text, coloured by `tone` (never by colour alone). */
export function stateLabel (tone: Tone, text: string): string {
  const symbol = { good: '✓', warn: '!', bad: '✗', none: '–' }[tone]
  return `<span class="state state-${tone}"><span aria-hidden="true">${symbol} </span>${escapeHtml(text)}</span>`
}

/** `2024-06-10 12:00 UTC` for a date or an ISO time. */
export function formatTime (value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value
  return Number.isNaN(date.getTime()) ? String(value) : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** A check status (`pass`, `warn`, `fail`) as a label. */
export function checkStatusLabel (status: CheckStatus): string {
  return stateLabel(status === 'pass' ? 'good' : status === 'warn' ? 'warn' : 'bad', status)
}

/** Whether the published `_mta-sts` id matches the served one, as a label. */
export function txtLabel (state: TxtState, publishedId?: string): string {
  switch (state) {
    case 'match': return stateLabel('good', 'DNS id matches')
    case 'mismatch': return stateLabel('bad', `DNS has ${publishedId ?? '?'}`)
    case 'problem': return stateLabel('bad', 'DNS record missing or invalid')
    default: return stateLabel('none', 'DNS not checked yet')
  }
}

/** A certificate's state and expiry (`daysLeft` whole days), as a label. */
export function certificateLabel (certificate: CertificateStatus | undefined, daysLeft: number | undefined, attentionDays: number): string {
  if (certificate === undefined) return stateLabel('bad', 'not loaded')
  const expiry = certificate.notAfter === undefined ? '' : `, expires ${certificate.notAfter.toISOString().slice(0, 10)}`
  if (certificate.state !== 'valid') return stateLabel(certificate.state === 'pending' ? 'warn' : 'bad', `${certificate.state}${expiry}`)
  if (daysLeft !== undefined && daysLeft < 0) return stateLabel('bad', `expired${expiry}`)
  if (daysLeft !== undefined && daysLeft < attentionDays) return stateLabel('warn', `valid, ${daysLeft} days left${expiry}`)
  return stateLabel('good', `valid${expiry}`)
}
