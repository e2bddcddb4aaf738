// Starts bench/lib/node-minimal-server.mjs, the minimal Node https server of the
// throughput part: what Node itself reaches with the same certificates, headers and bodies.
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnChild } from './proc.mjs'

const SERVER = fileURLToPath(new URL('./node-minimal-server.mjs', import.meta.url))

/**
 * Start the minimal server for `sites` ([{host, keyPem, chainPem, body}]) on `port` with one
 * worker per CPU; resolves with the child once every worker listens.
 */
export async function startNodeMinimal ({ dir, port, sites, workers = availableParallelism(), timeoutMs = 30_000 }) {
  mkdirSync(dir, { recursive: true })
  const sitesFile = join(dir, 'sites.json')
  writeFileSync(sitesFile, JSON.stringify(sites.map(s => ({ ...s, body: Buffer.from(s.body).toString('base64') }))), { mode: 0o600 })
  const child = spawnChild(process.execPath, [SERVER, sitesFile, String(port), String(workers)], { stdout: 'pipe', stderr: 'pipe' })
  let output = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node-minimal not listening within ${timeoutMs} ms: ${output}`)), timeoutMs)
    child.stderr.setEncoding('utf8').on('data', d => { output += d })
    child.stdout.setEncoding('utf8').on('data', d => { output += d; if (output.includes('listening')) { clearTimeout(timer); resolve() } })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`node-minimal exited (${code}): ${output}`)) })
  })
  return child
}
