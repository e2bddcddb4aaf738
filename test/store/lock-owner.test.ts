import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { currentOwner, ownerLiveness, ownerTag, parseLockOwner, parseOwnerTag, processStartTime, type LockOwner } from '../../src/store/lock-owner.js'
import { tempDir } from '../helpers/fixtures.js'

/** Field 22 of /proc/<pid>/stat, read here independently of the code under test. */
function startTimeOf (pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).trim().split(' ')[19] as string
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  return child.pid as number
}

const self = currentOwner()

t.test('currentOwner: host, pid, start time, boot id and pid namespace of this process', async t => {
  t.equal(self.host, hostname().replace(/[^A-Za-z0-9.-]/g, '_'))
  t.equal(self.pid, process.pid)
  t.equal(self.startTime, startTimeOf(process.pid))
  t.equal(self.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())
  t.match(self.pidNs, /^\d+$/)
  t.equal(processStartTime(process.ppid), startTimeOf(process.ppid))
  t.equal(processStartTime(await deadPid()), undefined, 'a process that is gone has no start time')
})

t.test('without /proc (another OS): only host and pid', async t => {
  const proc = { root: join(await tempDir(t), 'no-proc') }
  t.same(currentOwner(proc), { host: self.host, pid: process.pid })
})

t.test('the command name may contain spaces and parentheses', async t => {
  const root = await tempDir(t)
  await mkdir(join(root, '42'))
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3))
  await writeFile(join(root, '42', 'stat'), `42 (evil) name (x) ${fields.join(' ')}\n`)
  t.equal(processStartTime(42, { root }), '22')
})

t.test('ownerLiveness', async t => {
  t.equal(ownerLiveness(self, self), 'alive', 'this process')
  t.equal(ownerLiveness({ ...self, host: 'elsewhere' }, self), 'unknown', 'another host: only its TTL can tell')
  t.equal(ownerLiveness({ ...self, bootId: '00000000-0000-0000-0000-000000000000' }, self), 'dead', 'an owner from before a reboot')
  t.equal(ownerLiveness({ ...self, pidNs: '1' }, self), 'unknown', 'another pid namespace (container): its pids mean nothing here')
  t.equal(ownerLiveness({ ...self, pid: await deadPid() }, self), 'dead', 'pid gone')
  t.equal(ownerLiveness({ ...self, startTime: '1' }, self), 'dead', 'pid recycled: same pid, another start time')
  t.equal(ownerLiveness({ ...self, pid: process.ppid, startTime: startTimeOf(process.ppid) }, self), 'alive', 'another live process')
  const { startTime: _s, bootId: _b, pidNs: _n, ...legacy } = self
  t.equal(ownerLiveness({ ...legacy, pid: process.ppid }, self), 'alive', 'no start time recorded: a live pid cannot be proven dead')
  t.equal(ownerLiveness({ ...legacy, pid: await deadPid() }, self), 'dead', 'no start time recorded: a gone pid is dead')

  const root = await tempDir(t)
  const proc = { root }
  const owner: LockOwner = { ...self, pid: process.ppid, startTime: startTimeOf(process.ppid) }
  t.equal(ownerLiveness(owner, self, proc), 'dead', 'alive to kill(0) but gone from /proc: it exited in between')
  await mkdir(join(root, String(process.ppid)))
  const stat = (state: string): string => `${process.ppid} (node) ${state} ${Array.from({ length: 18 }, () => '0').join(' ')} ${owner.startTime as string} 0 0\n`
  await writeFile(join(root, String(process.ppid), 'stat'), stat('Z'))
  t.equal(ownerLiveness(owner, self, proc), 'dead', 'a zombie holds nothing')
  await writeFile(join(root, String(process.ppid), 'stat'), stat('X'))
  t.equal(ownerLiveness(owner, self, proc), 'dead', 'dying')
  await writeFile(join(root, String(process.ppid), 'stat'), stat('S'))
  t.equal(ownerLiveness(owner, self, proc), 'alive', 'sleeping, same start time')
})

t.test('ownerTag and parseOwnerTag round-trip', async t => {
  t.same(parseOwnerTag(ownerTag(self)), self)
  const bare: LockOwner = { host: 'h', pid: 7 }
  t.equal(ownerTag(bare), '7___@h')
  t.same(parseOwnerTag(ownerTag(bare)), bare)
  for (const bad of ['', 'x', '7___', '7___@', 'a_b_c_d@h', '7_1_2_3@h/x', '../7___@h']) t.equal(parseOwnerTag(bad), undefined, JSON.stringify(bad))
})

t.test('parseLockOwner reads this version\'s owner and earlier versions\' tokens', async t => {
  t.same(parseLockOwner({ owner: self, token: 'x' }), self)
  t.same(parseLockOwner({ owner: { host: 'h', pid: 3, startTime: '', bootId: 5 } }), { host: 'h', pid: 3 }, 'empty or odd optional fields are dropped')
  t.same(parseLockOwner({ token: 'my host:123:0123456789abcdef', expires: 1 }), { host: 'my_host', pid: 123 }, 'an earlier version\'s host:pid:random token')
  for (const bad of [null, undefined, 'text', 5, {}, { owner: null }, { owner: { host: 'h' } }, { owner: { host: 1, pid: 2 } }, { owner: { host: 'h', pid: 1.5 } }, { token: 'nope' }, { token: 7 }]) {
    t.equal(parseLockOwner(bad), undefined, JSON.stringify(bad))
  }
})
