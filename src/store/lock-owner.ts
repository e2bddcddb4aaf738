import { readFileSync, readlinkSync } from 'node:fs'
import { hostname } from 'node:os'

/**
 * Who holds a lock or wrote a temp file: enough to tell, on the same host,
 * whether that process is still running. `startTime`, `bootId` and `pidNs`
 * are Linux-only (read from `/proc`) and absent elsewhere.
 */
export interface LockOwner {
  /** `os.hostname()`, with anything outside `[A-Za-z0-9.-]` replaced by `_`. */
  readonly host: string
  readonly pid: number
  /** `/proc/<pid>/stat` field 22 (clock ticks since boot), so a recycled pid is not mistaken for the owner. */
  readonly startTime?: string
  /** `/proc/sys/kernel/random/boot_id`: an owner from before a reboot is dead. */
  readonly bootId?: string
  /** The pid namespace (`/proc/self/ns/pid` inode): pids of another namespace (container) cannot be checked from here. */
  readonly pidNs?: string
}

/** `dead`: provably gone; `alive`: running (or cannot be told apart from running); `unknown`: another host or namespace. */
export type Liveness = 'alive' | 'dead' | 'unknown'

/** Where `/proc` is; tests point it elsewhere. */
export interface ProcFs {
  readonly root: string
}

const PROC: ProcFs = Object.freeze({ root: '/proc' })

function safeHost (name: string): string {
  return name.replace(/[^A-Za-z0-9.-]/g, '_') || '_'
}

function readTrimmed (path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/**
 * Fields of `/proc/<pid>/stat` from field 3 on. The command name (field 2)
 * is in parentheses and may itself contain spaces and parentheses, so the
 * split starts after the last `)`.
 */
function statFields (pid: number, proc: ProcFs): string[] | undefined {
  const text = readTrimmed(`${proc.root}/${pid}/stat`)
  if (text === undefined) return undefined
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/** The start time (field 22 of `/proc/<pid>/stat`) of a process, when `/proc` has it. */
export function processStartTime (pid: number, proc: ProcFs = PROC): string | undefined {
  return statFields(pid, proc)?.[19]
}

/** This process as a lock owner. Read once per store (a few small `/proc` reads). */
export function currentOwner (proc: ProcFs = PROC): LockOwner {
  const startTime = processStartTime(process.pid, proc)
  const bootId = readTrimmed(`${proc.root}/sys/kernel/random/boot_id`)
  let pidNs: string | undefined
  try {
    pidNs = readlinkSync(`${proc.root}/self/ns/pid`).replace(/\D/g, '') || undefined
  } catch {
    pidNs = undefined
  }
  return {
    host: safeHost(hostname()),
    pid: process.pid,
    ...(startTime ? { startTime } : {}),
    ...(bootId ? { bootId } : {}),
    ...(pidNs ? { pidNs } : {}),
  }
}

/**
 * Whether `owner` is still running, judged from `self`'s point of view.
 * Only an owner on the same host, boot and pid namespace can be proven dead:
 * its pid is gone, is a zombie, or now belongs to a process that started at
 * another time. Other hosts are `unknown` (their locks expire by TTL).
 */
export function ownerLiveness (owner: LockOwner, self: LockOwner, proc: ProcFs = PROC): Liveness {
  if (owner.host !== self.host) return 'unknown'
  if (owner.bootId !== undefined && self.bootId !== undefined && owner.bootId !== self.bootId) return 'dead'
  // (An owner without a namespace is an earlier version's lock: judged by its pid alone.)
  if (owner.pidNs !== undefined && owner.pidNs !== self.pidNs) return 'unknown'
  if (owner.pid === self.pid && owner.startTime === self.startTime) return 'alive'
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead'
  }
  if (owner.startTime === undefined) return 'alive'
  const fields = statFields(owner.pid, proc)
  // Gone from /proc since the signal check, a zombie, or a recycled pid: the owner is not running.
  if (fields === undefined || fields[0] === 'Z' || fields[0] === 'X') return 'dead'
  return fields[19] === owner.startTime ? 'alive' : 'dead'
}

/**
 * A compact, file-name-safe form of an owner (`pid_start_ns_boot@host`),
 * used to name each process's folder of temporary files.
 */
export function ownerTag (owner: LockOwner): string {
  return `${owner.pid}_${owner.startTime ?? ''}_${owner.pidNs ?? ''}_${owner.bootId ?? ''}@${owner.host}`
}

/** The owner named by {@link ownerTag}, or `undefined` for anything else. */
export function parseOwnerTag (tag: string): LockOwner | undefined {
  const match = /^(\d+)_(\d*)_(\d*)_([0-9a-f-]*)@([A-Za-z0-9._-]+)$/.exec(tag)
  if (!match) return undefined
  const [, pid, startTime, pidNs, bootId, host] = match as unknown as [string, string, string, string, string, string]
  return {
    host,
    pid: Number(pid),
    ...(startTime ? { startTime } : {}),
    ...(bootId ? { bootId } : {}),
    ...(pidNs ? { pidNs } : {}),
  }
}

/**
 * The owner recorded in a lock file's JSON: the `owner` object written by
 * this version, or the `host:pid:random` token of earlier versions (no start
 * time: such an owner is dead only when its pid is gone).
 */
export function parseLockOwner (record: unknown): LockOwner | undefined {
  if (typeof record !== 'object' || record === null) return undefined
  const { owner, token } = record as { owner?: unknown; token?: unknown }
  if (typeof owner === 'object' && owner !== null) {
    const o = owner as Record<string, unknown>
    if (typeof o.host !== 'string' || !Number.isSafeInteger(o.pid)) return undefined
    const str = (v: unknown): v is string => typeof v === 'string' && v !== ''
    return {
      host: o.host,
      pid: o.pid as number,
      ...(str(o.startTime) ? { startTime: o.startTime } : {}),
      ...(str(o.bootId) ? { bootId: o.bootId } : {}),
      ...(str(o.pidNs) ? { pidNs: o.pidNs } : {}),
    }
  }
  const legacy = typeof token === 'string' ? /^(.+):(\d+):[0-9a-f]+$/.exec(token) : null
  return legacy ? { host: safeHost(legacy[1] as string), pid: Number(legacy[2]) } : undefined
}
