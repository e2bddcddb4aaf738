import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import semver from 'semver'
import t from 'tap'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
const floor = pkg.engines.node

t.test('every runtime dependency runs on every Node version package.json promises', async t => {
  const dirs = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' })
    .trim().split('\n').slice(1)
  t.ok(dirs.length > 50, `walked the installed runtime tree (${dirs.length} packages)`)
  const offenders: string[] = []
  for (const dir of dirs) {
    const dep = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string, version: string, engines?: { node?: string } }
    const wanted = dep.engines?.node
    if (wanted !== undefined && !semver.subset(floor, wanted)) offenders.push(`${dep.name}@${dep.version} wants node ${wanted}`)
  }
  t.same(offenders, [], `package.json engines.node is ${floor}`)
})

t.test('the Node this process runs on, the container image and the README agree with engines', async t => {
  t.ok(semver.satisfies(process.version, floor), `tests run on ${process.version}`)
  const image = /^ARG NODE_VERSION=(\d+)$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1]
  t.ok(image !== undefined && semver.satisfies(`${image}.0.0`, floor), `Dockerfile builds on node ${image}`)
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  t.match(readme, `Node.js ${semver.minVersion(floor)?.version.replace(/\.0$/, '')} or later`, 'README names the same floor')
})
