import { escapeHtml } from './escape-html.js'

const UNSAFE: Readonly<Record<string, string>> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' }

/**
 * JSON text that is safe inside a `<script type="application/json">` element: `<`, `>`,
 * `&`, U+2028 and U+2029 are written as `\u` escapes with four hex digits (equal JSON, and no
 * `</script>` or `<!--` can appear).
 */
export function safeJson (value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, c => UNSAFE[c] as string)
}

/**
 * A data block for the dashboard's external script: `<script type="application/json" id="...">`.
 * The browser never runs it (the CSP allows no inline script anyway); the script reads it with `JSON.parse`.
 */
export function jsonScript (id: string, value: unknown): string {
  return `<script type="application/json" id="${escapeHtml(id)}">${safeJson(value)}</script>`
}
