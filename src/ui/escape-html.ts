const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * The one escaping function of the dashboard: every value that reaches its HTML, in text
 * and in (always double-quoted) attribute values, goes through it. `&`, `<`, `>`, `"` and
 * `'` become entities, so no value can close an element or an attribute.
 */
export function escapeHtml (value: string | number): string {
  return String(value).replace(/[&<>"']/g, c => ENTITIES[c] as string)
}
