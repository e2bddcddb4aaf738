import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { FileStore, FOREIGN_TEMP_GRACE_MS } from '../../src/store/file-store.js'
import { currentOwner, ownerTag, processStartTime, type LockOwner } from '../../src/store/lock-owner.js'
import { storeKey } from '../../src/store/keys.js'
import { tempDir } from '../helpers/fixtures.js'
import { storeContract } from '../helpers/store-contract.js'

storeContract(t, async t => new FileStore(join(await tempDir(t), 'store')))

async function fresh (t: Parameters<typeof tempDir>[0]): Promise<{ dir: string; root: string; store: FileStore }> {
  const dir = await tempDir(t)
  const root = join(dir, 'store')
  return { dir, root, store: new FileStore(root) }
}

/** Every file below `dir`, relative, sorted. */
async function tree (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile()).map(e => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1)).sort()
}

t.test('one file per key below the root', async t => {
  const { dir, root, store } = await fresh(t)
  t.equal(store.root, root)
  await store.put('certs/example.com/cert.pem', 'CERT')
  t.equal(await readFile(join(root, 'certs', 'example.com', 'cert.pem'), 'utf8'), 'CERT')
  t.same(await tree(dir), ['store/certs/example.com/cert.pem'])
})

t.test('secret values are 0600, others 0644', async t => {
  const { root, store } = await fresh(t)
  const old = process.umask(0o022)
  t.teardown(() => { process.umask(old) })
  await store.put('certs/a/key.pem', 'KEY', { secret: true })
  await store.put('certs/a/cert.pem', 'CERT')
  await store.put('certs/a/explicit.pem', 'CERT', { secret: false })
  const mode = async (key: string): Promise<number> => (await stat(join(root, ...key.split('/')))).mode & 0o777
  t.equal(await mode('certs/a/key.pem'), 0o600)
  t.equal(await mode('certs/a/cert.pem'), 0o644)
  t.equal(await mode('certs/a/explicit.pem'), 0o644)
  await store.put('certs/a/cert.pem', 'NOW SECRET', { secret: true })
  t.equal(await mode('certs/a/cert.pem'), 0o600, 'overwriting applies the new mode')
  await store.put('certs/a/key.pem', 'PUBLIC NOW')
  t.equal(await mode('certs/a/key.pem'), 0o644)
  t.equal((await stat(join(root, 'certs', 'a'))).mode & 0o777, 0o700, 'folders are private')
})

t.test('temp files, folders and dangling links are never listed', async t => {
  const { root, store } = await fresh(t)
  await store.put('certs/a/cert.pem', 'x')
  await writeFile(join(root, 'certs', 'a', 'cert.pem.tmp-0123456789ab'), 'half-written')
  await mkdir(join(root, 'certs', 'empty-dir'), { recursive: true })
  await symlink(join(root, 'nowhere'), join(root, 'certs', 'a', 'dangling'))
  t.same(await store.list('certs'), ['certs/a/cert.pem'])
  t.same(await store.list(''), ['certs/a/cert.pem'])
})

t.test('only real temp files are skipped: keys containing ".tmp-" are listed', async t => {
  const { root, store } = await fresh(t)
  const keys = [
    storeKey('certs', 'mta-sts.tmp-mail.example', 'cert.pem'),
    'a/x.tmp-',
    'a/x.tmp-0123456789a', // 11 hex digits
    'a/x.tmp-0123456789abc', // 13 hex digits
    'a/x.tmp-0123456789AB', // not lower-case hex
    'a/x.tmp-0123456789ab.pem',
  ]
  for (const key of keys) await store.put(key, key)
  await writeFile(join(root, 'a', 'x.tmp-0123456789ab'), 'half-written')
  t.same(await store.list(''), [...keys].sort())
  t.same(await store.list('a'), keys.filter(k => k.startsWith('a/')).sort())
  for (const key of keys) t.equal((await store.get(key))?.toString(), key)
})

t.test('put is atomic: readers see the old or the new value, never a mix', async t => {
  const { dir, store } = await fresh(t)
  const size = 4 * 1024 * 1024
  const values = ['a', 'b', 'c', 'd'].map(c => Buffer.alloc(size, c))
  await store.put('big/value', values[0] as Buffer)
  let writing = true
  let reads = 0
  let lists = 0
  const bad: string[] = []
  const reader = (async () => {
    while (writing) {
      const got = await store.get('big/value')
      reads++
      if (got === undefined) {
        bad.push('missing')
      } else if (got.length !== size || !values.some(v => v.equals(got))) {
        bad.push(`partial read of ${got.length} bytes starting ${got.subarray(0, 1).toString()}`)
      }
    }
  })()
  const lister = (async () => {
    while (writing) {
      const keys = await store.list('')
      lists++
      if (keys.join() !== 'big/value') bad.push(`listed ${keys.join()}`)
    }
  })()
  for (let i = 1; i < 12; i++) await store.put('big/value', values[i % values.length] as Buffer)
  writing = false
  await Promise.all([reader, lister])
  t.same(bad, [], `${reads} reads and ${lists} lists saw only whole values and no temp files`)
  t.ok(reads > 0 && lists > 0)
  t.same(await tree(dir), ['store/big/value'], 'no temp file left behind')
})

t.test('a failed put leaves the old value and no temp file', async t => {
  const { dir, store } = await fresh(t)
  await store.put('k/v', 'old')
  await t.rejects(store.put('k/v', 12345 as unknown as string))
  t.equal((await store.get('k/v'))?.toString(), 'old')
  t.same(await tree(dir), ['store/k/v'])
})

t.test('filesystem errors other than absence are not hidden', async t => {
  const { root, store } = await fresh(t)
  await store.put('dir/file', 'x')
  await t.rejects(store.get('dir'), { code: 'EISDIR' }, 'get of a folder')
  t.same(await store.list('dir/file'), [], 'list below a file is empty')
  t.same(await new FileStore(join(root, 'missing')).list(''), [], 'list of a missing root is empty')
  const long = 'x'.repeat(300)
  await t.rejects(store.list(long), { code: 'ENAMETOOLONG' })
  await t.rejects(store.lock(long, { waitMs: 0 }), { code: 'ENAMETOOLONG' })
  await rm(join(root, '.tmp'), { recursive: true })
  await writeFile(join(root, '.tmp'), 'a file where the temp folder goes')
  await t.rejects(store.put('dir/other', 'x'), { code: 'ENOTDIR' }, 'a temp folder that cannot be created')
})

t.test('keys built with storeKey stay inside the root', async t => {
  const { dir, store } = await fresh(t)
  const names = ['../etc/passwd', '..', '/abs', 'a/../b', '*.example.com', 'a/b/c', 'nul\0byte', ' spaced ', 'bücher.example', '.hidden']
  for (const name of names) await store.put(storeKey('certs', name, 'cert.pem'), name)
  const files = await tree(dir)
  t.equal(files.length, names.length)
  t.ok(files.every(f => f.startsWith('store/certs/') && f.endsWith('/cert.pem') && f.split('/').length === 4), files.join(', '))
  for (const name of names) t.equal((await store.get(storeKey('certs', name, 'cert.pem')))?.toString(), name)
})

t.test('locks', async t => {
  t.test('are files under .locks/, removed on release', async t => {
    const { root, store } = await fresh(t)
    const unlock = await store.lock('renew', { ttlMs: 5000 })
    const info = JSON.parse(await readFile(join(root, '.locks', 'renew.lock'), 'utf8')) as { token: string; expires: number }
    t.match(info.token, /^.+:\d+:[0-9a-f]{16}$/)
    t.type(info.expires, 'number')
    t.equal((await stat(join(root, '.locks', 'renew.lock'))).mode & 0o777, 0o600)
    await unlock()
    t.same(await readdir(join(root, '.locks')), [])
    t.same((await readdir(root)).sort(), ['.locks', '.tmp'], 'nothing else is created')
    t.same(await tree(root), [], 'no file is left (the lock was written aside, then linked into place)')
  })

  t.test('a lock file left by a dead process (expired) is broken at once', async t => {
    const { root, store } = await fresh(t)
    await mkdir(join(root, '.locks'), { recursive: true })
    await writeFile(join(root, '.locks', 'job.lock'), JSON.stringify({ token: 'other-host:1:dead', expires: Date.now() - 1000 }))
    const unlock = await store.lock('job', { waitMs: 0 })
    t.match(await readFile(join(root, '.locks', 'job.lock'), 'utf8'), /"token"/)
    t.notMatch(await readFile(join(root, '.locks', 'job.lock'), 'utf8'), /other-host/)
    await unlock()
    t.same(await readdir(join(root, '.locks')), [], 'no grave files left')
  })

  t.test('a live lock file of another process is respected', async t => {
    const { root, store } = await fresh(t)
    await mkdir(join(root, '.locks'), { recursive: true })
    await writeFile(join(root, '.locks', 'job.lock'), JSON.stringify({ token: 'other-host:1:alive', expires: Date.now() + 60_000 }))
    await t.rejects(store.lock('job', { waitMs: 200 }), { code: 'MTA_STS_STORE_LOCK_TIMEOUT' })
  })

  t.test('an unreadable lock file is judged by its age', async t => {
    const { root, store } = await fresh(t)
    const file = join(root, '.locks', 'garbled.lock')
    await mkdir(join(root, '.locks'), { recursive: true })
    await writeFile(file, '{"tok')
    await t.rejects(store.lock('garbled', { ttlMs: 60_000, waitMs: 150 }), { code: 'MTA_STS_STORE_LOCK_TIMEOUT' }, 'young: respected')
    const past = new Date(Date.now() - 120_000)
    await utimes(file, past, past)
    const unlock = await store.lock('garbled', { ttlMs: 60_000, waitMs: 0 })
    t.pass('old: broken')
    await unlock()
    await writeFile(file, '{"expires":"soon"}')
    await utimes(file, past, past)
    await (await store.lock('garbled', { ttlMs: 60_000, waitMs: 0 }))()
    t.pass('a lock file without a numeric expiry is judged by its age too')
  })

  t.test('unlock after the lock file vanished is harmless', async t => {
    const { root, store } = await fresh(t)
    const unlock = await store.lock('gone')
    const { rm } = await import('node:fs/promises')
    await rm(join(root, '.locks', 'gone.lock'))
    await unlock()
    t.same(await readdir(join(root, '.locks')), [])
  })

  t.test('two stores on one folder exclude each other', async t => {
    const { root } = await fresh(t)
    const a = new FileStore(root)
    const b = new FileStore(root)
    const unlock = await a.lock('shared')
    await t.rejects(b.lock('shared', { waitMs: 150 }), { code: 'MTA_STS_STORE_LOCK_TIMEOUT' })
    await unlock()
    await (await b.lock('shared', { waitMs: 0 }))()
  })
})

t.test('lock files and keys never collide on disk', async t => {
  const { dir, store } = await fresh(t)
  await store.put('locks/renew.lock', 'my data')
  const unlock = await store.lock('renew', { waitMs: 200 })
  t.same(await tree(dir), ['store/.locks/renew.lock', 'store/locks/renew.lock'])
  t.equal((await store.get('locks/renew.lock'))?.toString(), 'my data')
  await unlock()
  t.same(await tree(dir), ['store/locks/renew.lock'], 'releasing the lock leaves the key')
  t.same(await store.list(''), ['locks/renew.lock'])
})

/** The pid of a process that has exited (and been reaped). */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  return child.pid as number
}

async function writeLock (root: string, name: string, record: unknown): Promise<string> {
  const file = join(root, '.locks', `${name}.lock`)
  await mkdir(join(root, '.locks'), { recursive: true })
  await writeFile(file, JSON.stringify(record))
  return file
}

const self = currentOwner()
const HOUR = 3600_000

t.test('lock owners', async t => {
  t.test('a lock records its owner (host, pid, process start time) and its lease', async t => {
    const { root, store } = await fresh(t)
    const before = Date.now()
    const unlock = await store.lock('owned', { ttlMs: 5000 })
    const info = JSON.parse(await readFile(join(root, '.locks', 'owned.lock'), 'utf8')) as { owner: LockOwner; acquired: number; expires: number }
    t.same(info.owner, self)
    t.equal(info.owner.pid, process.pid)
    t.equal(info.owner.startTime, readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[19])
    t.ok(info.acquired >= before && info.expires >= info.acquired + 5000 && info.expires <= Date.now() + 5000)
    await unlock()
  })

  t.test('a lock of a dead process on this host is taken over at once, before it expires', async t => {
    const { root, store } = await fresh(t)
    await writeLock(root, 'job', { token: 'x', owner: { ...self, pid: await deadPid() }, expires: Date.now() + HOUR })
    const unlock = await store.lock('job', { waitMs: 0 })
    t.pass('taken over without waiting')
    await unlock()
    t.same(await tree(root), [], 'nothing left behind')
  })

  t.test('a recycled pid (same pid, another start time) does not keep a lock', async t => {
    const { root, store } = await fresh(t)
    await writeLock(root, 'job', { token: 'x', owner: { ...self, startTime: '1' }, expires: Date.now() + HOUR })
    await (await store.lock('job', { waitMs: 0 }))()
    t.pass('taken over')
  })

  t.test('a lock from before a reboot is taken over', async t => {
    const { root, store } = await fresh(t)
    await writeLock(root, 'job', { token: 'x', owner: { ...self, pid: process.ppid, bootId: '00000000-0000-0000-0000-000000000000' }, expires: Date.now() + HOUR })
    await (await store.lock('job', { waitMs: 0 }))()
    t.pass('taken over')
  })

  t.test('an earlier version\'s lock (host:pid:random token) of a dead pid is taken over', async t => {
    const { root, store } = await fresh(t)
    await writeLock(root, 'job', { token: `${hostname()}:${await deadPid()}:0123456789abcdef`, expires: Date.now() + HOUR })
    await (await store.lock('job', { waitMs: 0 }))()
    t.pass('taken over')
  })

  t.test('a live process\'s lock is respected until it expires', async t => {
    const { root, store } = await fresh(t)
    const owner = { ...self, pid: process.ppid, startTime: processStartTime(process.ppid) }
    await writeLock(root, 'job', { token: 'x', owner, expires: Date.now() + HOUR })
    await t.rejects(store.lock('job', { waitMs: 200 }), { code: 'MTA_STS_STORE_LOCK_TIMEOUT' })
    await writeLock(root, 'job', { token: 'x', owner, expires: Date.now() - 1 })
    await (await store.lock('job', { waitMs: 0 }))()
    t.pass('an expired lease is taken over even from a live owner (it stopped renewing)')
  })

  t.test('another host\'s or container\'s lock is respected until its lease expires', async t => {
    const { root, store } = await fresh(t)
    for (const owner of [{ ...self, host: 'other-host', pid: await deadPid() }, { ...self, pidNs: '1', pid: await deadPid() }]) {
      await writeLock(root, 'job', { token: 'x', owner, expires: Date.now() + HOUR })
      await t.rejects(store.lock('job', { waitMs: 150 }), { code: 'MTA_STS_STORE_LOCK_TIMEOUT' }, 'its pid means nothing here')
      await writeLock(root, 'job', { token: 'x', owner, expires: Date.now() - 1 })
      await (await store.lock('job', { waitMs: 0 }))()
      t.pass('taken over once expired')
    }
  })

  t.test('the holder renews the lease on disk while it works', async t => {
    const { root, store } = await fresh(t)
    const unlock = await store.lock('long', { ttlMs: 600, refreshMs: 50 })
    const read = async (): Promise<{ acquired: number; expires: number }> => JSON.parse(await readFile(join(root, '.locks', 'long.lock'), 'utf8')) as { acquired: number; expires: number }
    const first = await read()
    await sleep(1000)
    const later = await read()
    t.equal(later.acquired, first.acquired, 'same lease')
    t.ok(later.expires > first.expires + 500, 'expiry moved on')
    await unlock()
    await sleep(150)
    t.same(await tree(root), [], 'no renewal after release')
  })

  t.test('a holder that lost its lock (stalled past the lease) stops renewing and leaves the new lock alone', async t => {
    const { root } = await fresh(t)
    const a = new FileStore(root)
    const b = new FileStore(root)
    const unlockA = await a.lock('job', { ttlMs: 100, refreshMs: 1500 })
    await sleep(150)
    const unlockB = await b.lock('job', { waitMs: 0, ttlMs: HOUR })
    const taken = await readFile(join(root, '.locks', 'job.lock'), 'utf8')
    await sleep(1600)
    t.equal(await readFile(join(root, '.locks', 'job.lock'), 'utf8'), taken, 'A\'s renewal did not overwrite B\'s lock')
    await unlockA()
    t.equal(await readFile(join(root, '.locks', 'job.lock'), 'utf8'), taken, 'A\'s late unlock left it')
    await unlockB()
  })

  t.test('breaking a stale lock puts back a lock renewed meanwhile', async t => {
    const { root } = await fresh(t)
    const file = await writeLock(root, 'job', { token: 'old', owner: { ...self, host: 'other' }, expires: Date.now() - 1 })
    const renewed = JSON.stringify({ token: 'renewed', owner: { ...self, host: 'other' }, expires: Date.now() + HOUR })
    const fs = await import('node:fs/promises')
    // The holder renews it between the breaker's look at it and the breaker moving it aside.
    const { FileStore: Mocked } = await t.mockImport<typeof import('../../src/store/file-store.js')>('../../src/store/file-store.js', {
      'node:fs/promises': {
        ...fs,
        rename: async (from: string, to: string) => {
          if (from === file) writeFileSync(file, renewed)
          return fs.rename(from, to)
        },
      },
    })
    await t.rejects(new Mocked(root).lock('job', { waitMs: 100 }), { code: 'MTA_STS_STORE_LOCK_TIMEOUT' })
    t.equal(await readFile(file, 'utf8'), renewed, 'the renewed lock is back in place')
  })

  t.test('two breakers of one stale lock: the one that loses the race tries again; other errors are not hidden', async t => {
    const { root } = await fresh(t)
    const stale = { token: 'old', owner: { ...self, host: 'other' }, expires: Date.now() - 1 }
    const file = await writeLock(root, 'job', stale)
    const fs = await import('node:fs/promises')
    let failure: string | undefined = 'ENOENT'
    const { FileStore: Mocked } = await t.mockImport<typeof import('../../src/store/file-store.js')>('../../src/store/file-store.js', {
      'node:fs/promises': {
        ...fs,
        rename: async (from: string, to: string) => {
          if (from === file && failure !== undefined) {
            const err = Object.assign(new Error(failure), { code: failure })
            // ENOENT: another process moved it aside first (and it is gone).
            if (failure === 'ENOENT') { await fs.rm(file); failure = undefined }
            throw err
          }
          return fs.rename(from, to)
        },
      },
    })
    const store = new Mocked(root)
    await (await store.lock('job', { waitMs: 0 }))()
    t.pass('acquired after the other breaker removed it')
    await writeLock(root, 'job', stale)
    failure = 'EACCES'
    await t.rejects(store.lock('job', { waitMs: 0 }), { code: 'EACCES' })
    await mkdir(join(root, '.locks', 'dir.lock'))
    await t.rejects(new FileStore(root).lock('dir', { waitMs: 0 }), { code: 'EISDIR' }, 'a lock path that cannot be read')
    await symlink(join(root, 'nowhere'), join(root, '.locks', 'dangling.lock'))
    await t.rejects(new FileStore(root).lock('dangling', { waitMs: 300 }), { code: 'MTA_STS_STORE_LOCK_TIMEOUT' }, 'a lock path that exists and reads as missing: paced and bounded, not a busy loop')
  })
})

t.test('cleanup at start', async t => {
  t.test('removes the temp files and locks of dead processes, keeps a live process\'s', async t => {
    const { root, store } = await fresh(t)
    await store.put('certificates/internal/a.pem', 'WHOLE')
    const dead = { ...self, pid: await deadPid() }
    const live = { ...self, pid: process.ppid, startTime: processStartTime(process.ppid) }
    await mkdir(join(root, '.tmp', ownerTag(dead)), { recursive: true })
    await writeFile(join(root, '.tmp', ownerTag(dead), '0123456789abcdef'), '-----BEGIN PRIVATE KEY-----\nhalf')
    await writeFile(join(root, '.tmp', ownerTag(dead), 'fedcba9876543210.lock'), '{}')
    await mkdir(join(root, '.tmp', ownerTag(live)), { recursive: true })
    await writeFile(join(root, '.tmp', ownerTag(live), '0123456789abcdef'), 'being written')
    await writeLock(root, 'issue-a', { token: 'x', owner: dead, expires: Date.now() + HOUR })
    await writeLock(root, 'issue-b', { token: 'x', owner: live, expires: Date.now() + HOUR })
    await writeLock(root, 'expired', { token: 'x', owner: { ...self, host: 'other' }, expires: Date.now() - 1 })
    await writeLock(root, 'garbled', 'not json')
    const past = new Date(Date.now() - HOUR)
    await utimes(join(root, '.locks', 'garbled.lock'), past, past)
    t.same(await store.cleanup(), { tempFiles: 2, locks: 3 })
    t.same(await tree(root), [
      `.locks/issue-b.lock`,
      `.tmp/${ownerTag(live)}/0123456789abcdef`,
      'certificates/internal/a.pem',
    ])
    t.same(await store.cleanup(), { tempFiles: 0, locks: 0 }, 'nothing more to do')
  })

  t.test('temp files whose writer cannot be checked (another host, earlier versions) go once they are old', async t => {
    const { root, store } = await fresh(t)
    const other = join(root, '.tmp', ownerTag({ ...self, host: 'other' }))
    const junk = join(root, '.tmp', 'not-a-tag')
    await mkdir(other, { recursive: true })
    await mkdir(junk, { recursive: true })
    await writeFile(join(other, 'young'), 'x')
    await writeFile(join(other, 'old'), 'x')
    await writeFile(join(junk, 'old'), 'x')
    await store.put('certificates/internal/a.pem', 'WHOLE')
    await writeFile(join(root, 'certificates', 'internal', 'a.pem.tmp-0123456789ab'), 'young legacy')
    await writeFile(join(root, 'certificates', 'internal', 'b.pem.tmp-0123456789ab'), 'old legacy')
    await mkdir(join(root, '.locks'), { recursive: true })
    await writeFile(join(root, '.locks', 'x.lock.stale-01234567'), 'old grave')
    const old = new Date(Date.now() - FOREIGN_TEMP_GRACE_MS - 1000)
    for (const f of [join(other, 'old'), join(junk, 'old'), join(root, 'certificates', 'internal', 'b.pem.tmp-0123456789ab'), join(root, '.locks', 'x.lock.stale-01234567'), junk]) await utimes(f, old, old)
    t.same(await store.cleanup(), { tempFiles: 4, locks: 0 })
    t.same(await tree(root), [`.tmp/${ownerTag({ ...self, host: 'other' })}/young`, 'certificates/internal/a.pem', 'certificates/internal/a.pem.tmp-0123456789ab'])
    t.same((await readdir(join(root, '.tmp'))).sort(), [ownerTag({ ...self, host: 'other' }), ownerTag(self)].sort(), 'an old, empty folder is removed; one still in use stays')
  })

  t.test('a store whose temp folder was removed by another process\'s cleanup recreates it', async t => {
    const { root, store } = await fresh(t)
    await store.put('a', '1')
    await rm(join(root, '.tmp'), { recursive: true })
    await store.put('a', '2')
    t.equal((await store.get('a'))?.toString(), '2')
    t.same(await new FileStore(join(root, 'missing')).cleanup(), { tempFiles: 0, locks: 0 }, 'a store that does not exist yet has nothing to clean')
  })
})
