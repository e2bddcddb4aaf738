/** A policy response read in full, as far as senders judge it before parsing. */
export interface PolicyResponse {
  readonly status: number
  readonly location?: string
  readonly contentType?: string
}

/** Why senders refuse a policy response, and what to serve instead. */
export interface PolicyResponseProblem {
  readonly reason: string
  /** What the policy host should do instead (absent when only pointing the name elsewhere helps). */
  readonly fix?: string
}

/**
 * Why senders refuse the response to a policy fetch of `url` before reading
 * the policy, or undefined when they accept it: a redirect (never followed),
 * a status other than 200, a media type other than `text/plain` (Postfix's
 * resolver and go-mtasts require it).
 */
export function policyResponseProblem (response: PolicyResponse, url: string): PolicyResponseProblem | undefined {
  if (response.status >= 300 && response.status < 400) {
    return { reason: `${url} redirects (${response.status}) to ${response.location ?? '(no Location)'}: senders do not follow redirects`, fix: `serve the policy at ${url} itself` }
  }
  if (response.status !== 200) return { reason: `${url} answers ${response.status}, not 200` }
  const mediaType = ((response.contentType ?? '').split(';')[0] as string).trim().toLowerCase()
  if (mediaType !== 'text/plain') {
    const found = response.contentType === undefined ? 'no Content-Type' : `Content-Type ${response.contentType}`
    return { reason: `${url} is served with ${found}: Postfix's resolver and go-mtasts require text/plain`, fix: 'serve it as text/plain' }
  }
  return undefined
}
