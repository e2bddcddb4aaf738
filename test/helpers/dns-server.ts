import { createSocket, type RemoteInfo } from 'node:dgram'
import dnsPacket from 'dns-packet'
import type { Answer, Packet } from 'dns-packet'

/** Minimal tap-like teardown registration, so helpers work with any subtest. */
interface Teardown {
  teardown (fn: () => unknown): void
}

/** The records of one name. Unset types answer NODATA; `silent` names never answer (timeouts). */
export interface ZoneEntry {
  A?: string[]
  AAAA?: string[]
  /** One entry per TXT record, each a list of character-strings. */
  TXT?: string[][]
  MX?: { exchange: string; priority: number }[]
  /** An alias: queries of any other type follow it (inside this zone). */
  CNAME?: string
  silent?: boolean
}

/** Names (lower case, no trailing dot) to their records; mutate freely while the server runs. */
export type Zone = Record<string, ZoneEntry>

/** A running test DNS server. */
export interface DnsServer {
  /** `127.0.0.1:PORT`, ready for `Resolver.setServers`. */
  readonly address: string
  readonly zone: Zone
  /** Every question received, as `TYPE name`. */
  readonly queries: string[]
  close (): Promise<void>
}

const NXDOMAIN = 3
const FLAGS = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED

function key (name: string): string {
  return name.toLowerCase().replace(/\.$/, '')
}

/** The answer section for `name`/`type`, following CNAMEs inside the zone; undefined for NXDOMAIN. */
function answer (zone: Zone, name: string, type: string): Answer[] | undefined {
  const answers: Answer[] = []
  let current = name
  for (let hops = 0; hops < 8; hops++) {
    const entry = zone[key(current)]
    if (!entry) return hops === 0 ? undefined : answers
    if (entry.CNAME !== undefined && type !== 'CNAME') {
      answers.push({ type: 'CNAME', name: current, ttl: 60, data: entry.CNAME })
      current = entry.CNAME
      continue
    }
    const base = { name: current, ttl: 60, class: 'IN' as const }
    if (type === 'A') for (const a of entry.A ?? []) answers.push({ ...base, type: 'A', data: a })
    if (type === 'AAAA') for (const a of entry.AAAA ?? []) answers.push({ ...base, type: 'AAAA', data: a })
    if (type === 'TXT') for (const txt of entry.TXT ?? []) answers.push({ ...base, type: 'TXT', data: txt })
    if (type === 'MX') for (const mx of entry.MX ?? []) answers.push({ ...base, type: 'MX', data: { exchange: mx.exchange, preference: mx.priority } })
    if (type === 'CNAME' && entry.CNAME !== undefined) answers.push({ ...base, type: 'CNAME', data: entry.CNAME })
    return answers
  }
  return answers
}

/** Start an authoritative UDP DNS server on 127.0.0.1 (random port), closed on teardown. */
export async function startDnsServer (t: Teardown, zone: Zone = {}): Promise<DnsServer> {
  const socket = createSocket('udp4')
  const queries: string[] = []
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    let query: Packet
    try {
      query = dnsPacket.decode(msg)
    } catch {
      return
    }
    const question = query.questions?.[0]
    if (!question) return
    queries.push(`${question.type} ${question.name}`)
    if (zone[key(question.name)]?.silent) return
    const answers = answer(zone, question.name, question.type)
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: FLAGS | (answers === undefined ? NXDOMAIN : 0),
      questions: [question],
      answers: answers ?? [],
    })
    socket.send(response, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject)
      resolve()
    })
  })
  let closed = false
  const close = (): Promise<void> => new Promise(resolve => {
    if (closed) return resolve()
    closed = true
    socket.close(() => resolve())
  })
  t.teardown(close)
  return { address: `127.0.0.1:${socket.address().port}`, zone, queries, close }
}
