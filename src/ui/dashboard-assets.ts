import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { CLIENT_SCRIPT } from './client-script.js'
import { DASHBOARD_CSS } from './dashboard-css.js'

/** One static file of the dashboard. */
export interface DashboardAsset {
  /** File name with its content hash, e.g. `uPlot.3f2a...iife.min.js`. */
  readonly name: string
  readonly body: Buffer
  readonly contentType: string
}

/** The dashboard's static files and the URLs its pages link. */
export interface DashboardAssets {
  readonly byName: ReadonlyMap<string, DashboardAsset>
  readonly urls: { readonly uplotScript: string; readonly uplotCss: string; readonly script: string; readonly css: string }
}

const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

/** `<stem>.<first 16 hex digits of SHA-256>.<ext>`: a new URL whenever the content changes, so it can be cached for good. */
function hashedName (stem: string, ext: string, body: Buffer): string {
  return `${stem}.${createHash('sha256').update(body).digest('hex').slice(0, 16)}.${ext}`
}

/**
 * The dashboard's assets, read once when the app is built: uPlot (npm `uplot`, MIT; a small
 * canvas chart library without dependencies; its IIFE build and style sheet, bundled from
 * `node_modules`, never a CDN), the dashboard's own script and style sheet. Each is served
 * under `/ui/assets/` with a content hash in its name.
 */
export function dashboardAssets (): DashboardAssets {
  const require = createRequire(import.meta.url)
  const files = {
    uplotScript: { stem: 'uPlot', ext: 'iife.min.js', body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')), contentType: JS },
    uplotCss: { stem: 'uPlot', ext: 'min.css', body: readFileSync(require.resolve('uplot/dist/uPlot.min.css')), contentType: CSS },
    script: { stem: 'dashboard', ext: 'js', body: Buffer.from(CLIENT_SCRIPT, 'utf8'), contentType: JS },
    css: { stem: 'dashboard', ext: 'css', body: Buffer.from(DASHBOARD_CSS, 'utf8'), contentType: CSS },
  }
  const byName = new Map<string, DashboardAsset>()
  const url = (file: { stem: string, ext: string, body: Buffer, contentType: string }): string => {
    const name = hashedName(file.stem, file.ext, file.body)
    byName.set(name, Object.freeze({ name, body: file.body, contentType: file.contentType }))
    return `/ui/assets/${name}`
  }
  const urls = Object.freeze({ uplotScript: url(files.uplotScript), uplotCss: url(files.uplotCss), script: url(files.script), css: url(files.css) })
  return Object.freeze({ byName, urls })
}
