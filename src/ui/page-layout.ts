import type { DashboardAssets } from './dashboard-assets.js'
import { escapeHtml } from './escape-html.js'

/** What {@link pageLayout} wraps. */
export interface PageContent {
  readonly title: string
  /** The page's `<main>` content, already escaped. */
  readonly main: string
  readonly assets: DashboardAssets
  /** Load uPlot and draw the charts (`data-chart` elements). */
  readonly charts?: boolean
}

/**
 * A whole dashboard page: external style sheets and scripts only (the CSP allows nothing
 * inline), a skip link, and the main content. The pages are read-only: there is no form
 * that changes anything (the filter form is a GET), so there is no CSRF surface.
 */
export function pageLayout (page: PageContent): string {
  const { urls } = page.assets
  const scripts = page.charts === true
    ? `<script src="${escapeHtml(urls.uplotScript)}" defer></script><script src="${escapeHtml(urls.script)}" defer></script>`
    : ''
  const uplotCss = page.charts === true ? `<link rel="stylesheet" href="${escapeHtml(urls.uplotCss)}">` : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(page.title)} · mta-sts-host</title>
${uplotCss}<link rel="stylesheet" href="${escapeHtml(urls.css)}">
${scripts}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><span class="brand">mta-sts-host</span><nav aria-label="Dashboard"><a href="/ui/">All tenants</a></nav></header>
<main id="main" tabindex="-1">
${page.main}
</main>
</body>
</html>
`
}
