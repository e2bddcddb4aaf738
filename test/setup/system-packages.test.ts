import { spawnSync } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'

const script = fileURLToPath(new URL('./system-packages.sh', import.meta.url))

/**
 * Run the set-up script as an unprivileged user (root drops to `nobody`) with a PATH
 * that holds only `id` and the given fake commands, so it can never reach apt-get.
 */
async function runUnprivileged (t: Test, commands: string[]): Promise<{ status: number | null, stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'system-packages-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await chmod(dir, 0o755)
  const bin = join(dir, 'bin')
  await mkdir(bin, { mode: 0o755 })
  await symlink('/usr/bin/id', join(bin, 'id'))
  for (const name of commands) {
    await writeFile(join(bin, name), '#!/bin/sh\nexit 0\n')
    await chmod(join(bin, name), 0o755)
  }
  const copy = join(dir, 'system-packages.sh')
  await copyFile(script, copy)
  await chmod(copy, 0o755)
  const env = { PATH: bin, HOME: dir }
  const root = process.getuid?.() === 0
  const result = root
    ? spawnSync('/usr/sbin/runuser', ['-u', 'nobody', '--', '/bin/bash', copy], { env, encoding: 'utf8', timeout: 30_000 })
    : spawnSync('/bin/bash', [copy], { env, encoding: 'utf8', timeout: 30_000 })
  return { status: result.status, stderr: result.stderr }
}

t.test('without root, a missing tool stops at once with the exact install command', async t => {
  const { status, stderr } = await runUnprivileged(t, [])
  t.equal(status, 1)
  t.match(stderr, /not installed: pebble dovecot-imapd chromium haproxy\n/)
  t.match(stderr, 'sudo apt-get update && sudo apt-get install -y --no-install-recommends pebble dovecot-imapd chromium haproxy\n',
    'each package named once, although two of pebble\'s commands are missing')
})

t.test('a machine that has every tool passes silently', async t => {
  const { status, stderr } = await runUnprivileged(t, ['pebble', 'pebble-challtestsrv', 'dovecot', 'chromium', 'haproxy'])
  t.equal(status, 0)
  t.equal(stderr, '')
})

t.test('a tool missing from a package that is otherwise there is still reported', async t => {
  const { status, stderr } = await runUnprivileged(t, ['pebble', 'dovecot', 'chromium', 'haproxy'])
  t.equal(status, 1)
  t.match(stderr, /not installed: pebble\n/)
})
