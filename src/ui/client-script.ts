/**
 * The dashboard's own browser script, served as an external file (`/ui/assets/dashboard.<hash>.js`;
 * the CSP allows no inline script). It draws a uPlot chart into every element with
 * `data-chart="<id>"` from the JSON block `<script type="application/json" id="<id>">`
 * (`{ x: [unix seconds], yLabel, series: [{ label, values }] }`). Series differ in dash
 * pattern as well as colour, and the same numbers are in a table next to each chart.
 * Kept as a string in a .ts module so that `tsc` carries it into `dist/`.
 */
export const CLIENT_SCRIPT = `(function () {
  'use strict'
  var COLOURS = ['#1f5fbf', '#b3261e', '#1b7a3a', '#7b3fa0', '#b35c00', '#00707a', '#5d4037', '#455a64']
  var DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3]]
  var charts = []

  function readData (id) {
    var block = document.getElementById(id)
    return block === null ? null : JSON.parse(block.textContent)
  }

  function widthOf (el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width))
  }

  function draw (el) {
    var spec = readData(el.getAttribute('data-chart'))
    if (spec === null || typeof uPlot !== 'function') return
    var series = [{ label: 'day' }]
    var data = [spec.x]
    spec.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, dash: DASHES[i % DASHES.length], points: { show: true, size: 5 } })
      data.push(s.values)
    })
    var options = {
      width: widthOf(el),
      height: 240,
      series: series,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)] } } },
      axes: [{}, { label: spec.yLabel, size: 60 }]
    }
    charts.push({ el: el, plot: new uPlot(options, data, el) })
  }

  document.querySelectorAll('[data-chart]').forEach(draw)
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.plot.setSize({ width: widthOf(c.el), height: 240 }) })
  })
})()
`
