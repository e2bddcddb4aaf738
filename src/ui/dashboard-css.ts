/**
 * The dashboard's style sheet, served as an external file (`/ui/assets/dashboard.<hash>.css`;
 * the CSP allows no inline style). States carry a text label and a symbol; colour only adds
 * to them. Kept as a string in a .ts module so that `tsc` carries it into `dist/`.
 */
export const DASHBOARD_CSS = `:root { color-scheme: light; --fg: #1b1b1b; --muted: #555; --line: #c8c8c8; --bg-alt: #f4f5f7; --focus: #0b57d0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
header.top { display: flex; gap: 1.5rem; align-items: baseline; padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); background: var(--bg-alt); }
header.top .brand { font-weight: 700; }
main { padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
a { color: #0b4fb3; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; top: 0; }
.skip:focus { left: .5rem; top: .5rem; background: #fff; padding: .5rem; z-index: 10; }
.note { color: var(--muted); }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem 1.25rem; align-items: flex-end; margin: 0 0 1rem; padding: .75rem; background: var(--bg-alt); border: 1px solid var(--line); }
form.filters label { display: block; font-size: .85rem; color: var(--muted); }
form.filters .check label { display: inline; font-size: 1rem; color: var(--fg); }
input, select, button { font: inherit; padding: .3rem .45rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .25rem 0 1rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg-alt); white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85em; overflow-wrap: anywhere; }
td code { white-space: nowrap; }
.state { white-space: nowrap; font-weight: 600; }
.state-good { color: #1b6b34; }
.state-warn { color: #8a5300; }
.state-bad { color: #b3261e; }
.state-none { color: var(--muted); font-weight: 400; }
nav.pages { display: flex; gap: 1rem; align-items: center; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
dl.summary dt { font-weight: 600; }
dl.summary dd { margin: 0; }
figure.chart { margin: .5rem 0 1rem; }
figure.chart figcaption { color: var(--muted); font-size: .9rem; }
.chart-area { width: 100%; min-height: 1px; }
ul.reasons { margin: 0; padding-left: 1.1rem; min-width: 14rem; }
ul.reasons .state { white-space: normal; }
details.numbers > summary { cursor: pointer; color: #0b4fb3; margin-bottom: .25rem; }
`
