#!/usr/bin/env node
// The Node ceiling of the throughput benchmark: the least a Node https server can do to
// answer the same policy fetches as the service and nginx. node:cluster with one worker per
// CPU accepting connections themselves (as the service's --workers auto), an SNI callback
// over a Map of SecureContexts, one prebuilt header set per host, unknown names refused.
// No logging, metrics, statistics or routing: the gap to nginx that is left is Node's own.
//
// usage: node bench/lib/node-minimal-server.mjs SITES.json PORT WORKERS
// SITES.json: [{ host, keyPem, chainPem, body }]; prints "listening" once every worker listens.
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import tls from 'node:tls'
import { POLICY_PATH } from './service.mjs'
import { SERVICE_HEADERS } from './nginx.mjs'

const [sitesFile, portArg, workersArg] = process.argv.slice(2)
const port = Number(portArg)
const workers = Number(workersArg)

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE
  let listening = 0
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('listening', () => { if (++listening === workers) console.log('listening') })
  }
  cluster.on('exit', (w, code, signal) => { if (!stopping) { console.error(`worker ${w.process.pid} exited (${code ?? signal})`); process.exit(1) } })
  let stopping = false
  process.on('SIGTERM', () => { stopping = true; for (const w of Object.values(cluster.workers)) w.kill('SIGTERM'); setTimeout(() => process.exit(0), 2000).unref() })
} else {
  const sites = new Map(JSON.parse(readFileSync(sitesFile, 'utf8')).map(site => {
    const body = Buffer.from(site.body, 'base64')
    const headers = Object.freeze(Object.fromEntries([...SERVICE_HEADERS, ['Content-Type', 'text/plain; charset=utf-8'], ['Content-Length', String(body.length)]]))
    return [site.host, { context: tls.createSecureContext({ key: site.keyPem, cert: site.chainPem }), body, headers }]
  }))
  const server = https.createServer({
    SNICallback: (name, cb) => { const site = sites.get(name.toLowerCase()); cb(site ? null : new Error(`unknown server name ${name}`), site?.context) },
    keepAliveTimeout: 30_000,
  }, (req, res) => {
    const site = sites.get((req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase())
    if (site === undefined || req.url !== POLICY_PATH) { res.writeHead(404).end(); return }
    res.writeHead(200, site.headers)
    res.end(site.body)
  })
  server.listen(port, '127.0.0.1')
  process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); process.exit(0) })
}
