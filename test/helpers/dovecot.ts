/**
 * A real IMAP server for tests: Dovecot (Debian package `dovecot-imapd`, 2.3) run from a
 * private config file in a temp dir (`dovecot -F -c FILE`; nothing from /etc/dovecot), on a
 * free loopback port, with one passwd-file user and a Maildir (`LAYOUT=fs`: folders nest
 * with `/`). Optionally TLS: STARTTLS on the IMAP port and implicit TLS on a second port,
 * with a certificate for 127.0.0.1/localhost from a throw-away CA ({@link Dovecot.caFile}).
 *
 * Tests run as root, and Dovecot refuses to access mail as root: the mail user is `nobody`,
 * which owns the Maildir.
 */
import { type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { ImapFlow } from 'imapflow'
import { systemClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { dead, distinctFreePorts, launch, stopProcess, tcpOpen, waitUntil } from './server-process.js'

/** Minimal tap-like teardown registration, so the helper works with any (sub)test. */
interface Teardown {
  teardown (fn: () => unknown): void
}

/** Options of {@link startDovecot}. */
export interface DovecotOptions {
  /** STARTTLS on the IMAP port and implicit TLS on {@link Dovecot.tlsPort}. Default false. */
  tls?: boolean
  /** Advertise IDLE. Default true; false leaves it out of the capability list so clients poll. */
  idle?: boolean
}

/** One message of a folder, see {@link Dovecot.messages}. */
export interface DovecotMessage {
  readonly uid: number
  readonly flags: readonly string[]
  readonly size: number
}

/** A running Dovecot, see {@link startDovecot}. */
export interface Dovecot {
  readonly host: '127.0.0.1'
  /** IMAP port (plain text; STARTTLS when started with `tls`). Stays the same across restarts. */
  readonly port: number
  /** Implicit-TLS port (IMAPS) when started with `tls`, otherwise 0. */
  readonly tlsPort: number
  /** PEM file of the CA that signed the server certificate (when started with `tls`), otherwise ''. */
  readonly caFile: string
  readonly user: string
  readonly password: string
  /** A file holding {@link Dovecot.password} and a newline, mode 0600. */
  readonly passwordFile: string
  /** Store `message` in `folder` (created when missing); resolves to its UID. */
  append (folder: string, message: Buffer, flags?: string[]): Promise<number>
  /** The messages of `folder` with their flags, by UID; `[]` when the folder does not exist. */
  messages (folder: string): Promise<DovecotMessage[]>
  /** Every folder's path. */
  folders (): Promise<string[]>
  /** Stop the server (mail and ports are kept), e.g. to cut clients off. Idempotent. */
  stop (): Promise<void>
  /** Start it again after {@link Dovecot.stop}, on the same ports with the same mail. */
  start (): Promise<void>
  /** Stop and remove everything. Idempotent; also run by `t.teardown`. */
  close (): Promise<void>
  /** The last lines Dovecot logged, for debugging. */
  logs (): string[]
}

const LOG_LINES_KEPT = 200
const MAIL_USER = 'nobody'

/**
 * Start Dovecot on free loopback ports with a fresh Maildir, and wait (at most 10 s) until
 * it accepts connections. Everything is stopped and removed by `t.teardown`.
 */
export async function startDovecot (t: Teardown, opts: DovecotOptions = {}): Promise<Dovecot> {
  const dir = await mkdtemp(join(tmpdir(), 'dovecot-'))
  const logs: string[] = []
  let closed = false
  let child: ChildProcess | undefined

  const log = (line: string): void => {
    logs.push(line)
    if (logs.length > LOG_LINES_KEPT) logs.shift()
  }
  const fail = (message: string): Error =>
    new Error(`${message}\n--- last log lines ---\n${logs.slice(-30).join('\n')}`)
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    // Mail sessions outlive Dovecot's master for a while: end them too, as a crash would.
    const sessions = running?.pid !== undefined ? descendants(running.pid) : []
    await stopProcess(running)
    for (const pid of sessions) {
      try { process.kill(pid, 'SIGKILL') } catch {}
    }
  }
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await stop()
    await rm(dir, { recursive: true, force: true })
  }
  t.teardown(close)

  try {
    const { uid, gid } = userInfo({ encoding: 'utf8' }).uid === 0 ? mailOwner() : { uid: -1, gid: -1 }
    // The mail user and Dovecot's unprivileged helpers must reach the Maildir inside the temp dir.
    await chmod(dir, 0o755)
    const home = join(dir, 'home')
    await mkdir(home, { mode: 0o700 })
    if (uid >= 0) await chown(home, uid, gid)

    const user = 'reports'
    const password = 'pa55-w0rd!'
    const passwordFile = join(dir, 'password')
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 })
    await writeFile(join(dir, 'passwd'), `${user}:{PLAIN}${password}::::::\n`, { mode: 0o644 })

    const [port, tlsPort] = await distinctFreePorts(2) as [number, number]
    let caFile = ''
    if (opts.tls === true) {
      const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
      const issued = await ca.issue(['localhost', '127.0.0.1'])
      caFile = join(dir, 'ca.pem')
      await writeFile(caFile, ca.caPem)
      await writeFile(join(dir, 'cert.pem'), issued.certPem)
      await writeFile(join(dir, 'key.pem'), issued.keyPem, { mode: 0o600 })
    }
    const configFile = join(dir, 'dovecot.conf')
    await writeFile(configFile, config({ dir, port, tlsPort, tls: opts.tls === true, idle: opts.idle !== false, uid, gid }))

    const start = async (): Promise<void> => {
      if (closed) throw new Error('dovecot harness is closed')
      if (child !== undefined) return
      const started = launch('dovecot', ['-F', '-c', configFile], { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` }, log)
      child = started
      try {
        await waitUntil(() => tcpOpen(port), () => dead(started), 'dovecot', fail)
      } catch (err) {
        await stopProcess(started)
        if (child === started) child = undefined
        throw err
      }
    }

    const client = (): ImapFlow => new ImapFlow({
      host: '127.0.0.1', port, secure: false, doSTARTTLS: false, logger: false,
      auth: { user, pass: password }, disableAutoIdle: true,
    })
    const withClient = async <T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> => {
      const c = client()
      c.on('error', () => {})
      await c.connect()
      try {
        return await fn(c)
      } finally {
        await c.logout().catch(() => {})
      }
    }

    await start()
    return {
      host: '127.0.0.1',
      port,
      tlsPort: opts.tls === true ? tlsPort : 0,
      caFile,
      user,
      password,
      passwordFile,
      append: async (folder, message, flags = []) => await withClient(async c => {
        if (folder !== 'INBOX') await c.mailboxCreate(folder).catch(() => {})
        const res = await c.append(folder, message, flags)
        if (res === false || res.uid === undefined) throw fail(`APPEND to ${folder} gave no UID`)
        return res.uid
      }),
      messages: async folder => await withClient(async c => {
        const exists = (await c.list()).some(box => box.path === folder)
        if (!exists) return []
        await c.mailboxOpen(folder, { readOnly: true })
        const out: DovecotMessage[] = []
        for await (const m of c.fetch('1:*', { uid: true, flags: true, size: true }, { uid: false })) {
          out.push({ uid: m.uid, flags: [...(m.flags ?? [])].filter(f => f !== '\\Recent').sort(), size: m.size ?? 0 })
        }
        return out.sort((a, b) => a.uid - b.uid)
      }),
      folders: async () => await withClient(async c => (await c.list()).map(box => box.path).sort()),
      stop,
      start,
      close,
      logs: () => [...logs],
    }
  } catch (err) {
    await close()
    throw err
  }
}

/** Every process below `pid`, read from /proc. */
function descendants (pid: number): number[] {
  const parents = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {}
  }
  const out: number[] = []
  for (let queue = [pid]; queue.length > 0;) {
    const parent = queue.shift()
    for (const [child, ppid] of parents) if (ppid === parent) { out.push(child); queue.push(child) }
  }
  return out
}

/** uid and gid of {@link MAIL_USER}, from /etc/passwd (`os` has no getpwnam). */
function mailOwner (): { uid: number, gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find(l => l.startsWith(`${MAIL_USER}:`))
  const fields = line?.split(':') ?? []
  return { uid: Number(fields[2] ?? 65534), gid: Number(fields[3] ?? 65534) }
}

interface ConfigInput {
  dir: string
  port: number
  tlsPort: number
  tls: boolean
  idle: boolean
  uid: number
  gid: number
}

/** dovecot.conf: everything in `dir`, loopback only, one passwd-file user, Maildir owned by the mail user. */
function config (c: ConfigInput): string {
  const mailIds = c.uid >= 0 ? `uid=${c.uid} gid=${c.gid} ` : ''
  return `# Written by test/helpers/dovecot.ts
instance_name = dovecot-test-${c.port}
base_dir = ${c.dir}/run
state_dir = ${c.dir}/state
listen = 127.0.0.1
protocols = imap
log_path = /dev/stderr
info_log_path = /dev/stderr
ssl = ${c.tls ? 'yes' : 'no'}
${c.tls ? `ssl_cert = <${c.dir}/cert.pem\nssl_key = <${c.dir}/key.pem\n` : ''}disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${c.dir}/passwd
}
userdb {
  driver = static
  args = ${mailIds}home=${c.dir}/home/%u
}
mail_location = maildir:~/Maildir:LAYOUT=fs
first_valid_uid = 1
mailbox_idle_check_interval = 1 secs
${c.idle ? '' : 'imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE\n'}service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${c.port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${c.tls ? c.tlsPort : 0}
    ssl = yes
  }
}
service anvil {
  chroot =
}
`
}
