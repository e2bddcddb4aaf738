import { mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { FileStore } from '../../src/store/file-store.js'
import { storeKey } from '../../src/store/store.js'
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
    t.same(await readdir(root), ['.locks'], 'nothing else is created')
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
