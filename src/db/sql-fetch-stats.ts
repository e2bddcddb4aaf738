import { sql, type Kysely } from 'kysely'
import type { DomainFetches, DomainReportTotals, FetchBatch, LastFetch, PolicyChange } from '../stats/types.js'
import { isPostgres } from './dialect.js'
import type { ReportDatabase } from './report-tables.js'

/** Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_INSERT = 500

function chunks<T> (items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += ROWS_PER_INSERT) out.push(items.slice(i, i + ROWS_PER_INSERT))
  return out
}

/**
 * Orders items by a key unique among them, comparing code units the way SQLite's BINARY collation
 * does: a PostgreSQL database's collation (en_US.UTF-8 skips punctuation) may order text otherwise.
 */
function byKey<T> (key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : 1)
}

/**
 * A batch with each key once (a flush that carries a failed one again can hold a key twice:
 * PostgreSQL refuses an upsert that touches a row twice), sorted by key, so that replicas
 * flushing at once lock rows in the same order and never deadlock.
 */
function merged (batch: FetchBatch): FetchBatch {
  const counts = new Map<string, FetchBatch['counts'][number]>()
  for (const c of batch.counts) {
    const key = `${c.domain}\n${c.day}\n${c.policyId}\n${c.sender}`
    const before = counts.get(key)
    counts.set(key, before === undefined ? c : { ...c, fetches: before.fetches + c.fetches, lastAt: c.lastAt > before.lastAt ? c.lastAt : before.lastAt })
  }
  const networks = new Map(batch.networks.map(n => [`${n.domain}\n${n.day}\n${n.network}`, n]))
  return {
    counts: [...counts].sort(byKey(([key]) => key)).map(([, c]) => c),
    networks: [...networks].sort(byKey(([key]) => key)).map(([, n]) => n),
  }
}

/** Adds a flush of fetch totals in one transaction: counts are summed into existing rows, networks kept once. */
export async function addFetches (db: Kysely<ReportDatabase>, flush: FetchBatch): Promise<void> {
  if (flush.counts.length === 0 && flush.networks.length === 0) return
  const batch = merged(flush)
  await db.transaction().execute(async trx => {
    for (const part of chunks(batch.counts)) {
      await trx.insertInto('fetch_counts')
        .values(part.map(c => ({ domain: c.domain, policy_id: c.policyId, day: c.day, sender: c.sender, fetches: c.fetches, last_at: c.lastAt })))
        .onConflict(oc => oc.columns(['domain', 'day', 'policy_id', 'sender']).doUpdateSet({
          fetches: sql`fetch_counts.fetches + excluded.fetches`,
          // CASE rather than max()/greatest(): the same statement on SQLite and PostgreSQL.
          last_at: sql`case when excluded.last_at > fetch_counts.last_at then excluded.last_at else fetch_counts.last_at end`,
        }))
        .execute()
    }
    for (const part of chunks(batch.networks)) {
      await trx.insertInto('fetch_networks').values(part.map(n => ({ domain: n.domain, day: n.day, network: n.network })))
        .onConflict(oc => oc.doNothing()).execute()
    }
  })
}

/** One domain's fetch totals and distinct networks per day, from `from` to `until` (inclusive). */
export async function fetchesFor (db: Kysely<ReportDatabase>, domain: string, from: string, until: string): Promise<DomainFetches> {
  const [days, networks] = await Promise.all([
    db.selectFrom('fetch_counts').select(['day', 'policy_id', 'sender', 'fetches', 'last_at'])
      .where('domain', '=', domain).where('day', '>=', from).where('day', '<=', until)
      .orderBy('day').orderBy('policy_id').orderBy('sender').execute(),
    db.selectFrom('fetch_networks').select(eb => ['day', eb.fn.countAll<number>().as('count')])
      .where('domain', '=', domain).where('day', '>=', from).where('day', '<=', until)
      .groupBy('day').orderBy('day').execute(),
  ])
  return {
    days: days.sort(byKey(r => `${r.day}\n${r.policy_id}\n${r.sender}`))
      .map(r => ({ day: r.day, policyId: r.policy_id, sender: r.sender, fetches: Number(r.fetches), lastAt: r.last_at })),
    networks: networks.map(r => ({ day: r.day, count: Number(r.count) })),
  }
}

/** The latest fetch of each domain (one row per domain, the policy id and sender of that fetch). */
export async function lastFetches (db: Kysely<ReportDatabase>): Promise<LastFetch[]> {
  const rows = await db.selectFrom(eb => eb.selectFrom('fetch_counts')
    .select(['domain', 'policy_id', 'sender', 'last_at'])
    .select(sql<number>`row_number() over (partition by domain order by last_at desc, fetches desc)`.as('rank'))
    .as('ranked'))
    .select(['domain', 'policy_id', 'sender', 'last_at'])
    .where('rank', '=', 1)
    .execute()
  return rows.map(r => ({ domain: r.domain, at: r.last_at, sender: r.sender, policyId: r.policy_id }))
}

/** The latest recorded mode and id of each domain. */
export async function latestPolicies (db: Kysely<ReportDatabase>): Promise<PolicyChange[]> {
  const rows = await db.selectFrom('policy_changes as p')
    .innerJoin(eb => eb.selectFrom('policy_changes').select(e => ['domain', e.fn.max('id').as('last')]).groupBy('domain').as('m'), join => join.onRef('p.id', '=', 'm.last'))
    .select(['p.domain', 'p.at', 'p.mode', 'p.policy_id'])
    .execute()
  return rows.map(r => ({ domain: r.domain, at: r.at, mode: r.mode, policyId: r.policy_id }))
}

/** Records the changes that differ from each domain's latest entry; returns how many were recorded. */
export async function recordPolicyChanges (db: Kysely<ReportDatabase>, changes: readonly PolicyChange[]): Promise<number> {
  if (changes.length === 0) return 0
  return await db.transaction().execute(async trx => {
    // Replicas start with the same configuration and record the same changes at once: on
    // PostgreSQL one waits for the other's commit and then sees it (SQLite has one writer anyway).
    // This mode conflicts only with itself and writers, not with readers.
    if (isPostgres(trx)) await sql`lock table policy_changes in share row exclusive mode`.execute(trx)
    const latest = new Map((await latestPolicies(trx)).map(p => [p.domain, p]))
    const fresh = changes.filter(c => {
      const last = latest.get(c.domain)
      const same = last !== undefined && last.mode === c.mode && last.policyId === c.policyId
      latest.set(c.domain, c)
      return !same
    })
    for (const part of chunks(fresh)) {
      await trx.insertInto('policy_changes').values(part.map(c => ({ domain: c.domain, at: c.at, mode: c.mode, policy_id: c.policyId }))).execute()
    }
    return fresh.length
  })
}

/** One domain's recorded changes, newest first. */
export async function policyHistory (db: Kysely<ReportDatabase>, domain: string, limit: number): Promise<PolicyChange[]> {
  const rows = await db.selectFrom('policy_changes').select(['domain', 'at', 'mode', 'policy_id'])
    .where('domain', '=', domain).orderBy('id', 'desc').limit(limit).execute()
  return rows.map(r => ({ domain: r.domain, at: r.at, mode: r.mode, policyId: r.policy_id }))
}

/** Sessions and reporting organisations per domain from `from` to `until` (inclusive), in one query. */
export async function reportTotals (db: Kysely<ReportDatabase>, from: string, until: string): Promise<DomainReportTotals[]> {
  const rows = await db.selectFrom('report_policies')
    .select(eb => [
      'domain',
      eb.fn.sum<number>('successful').as('successful'),
      eb.fn.sum<number>('failed').as('failed'),
      eb.fn.count<number>('organization').distinct().as('organizations'),
    ])
    .where('day', '>=', from).where('day', '<=', until)
    .groupBy('domain').orderBy('domain').execute()
  return rows.sort(byKey(r => r.domain)).map(r => ({ domain: r.domain, successful: Number(r.successful), failed: Number(r.failed), organizations: Number(r.organizations) }))
}

/** Deletes fetch totals of days before `countsBefore` and networks of days before `networksBefore`. */
export async function purgeFetches (db: Kysely<ReportDatabase>, countsBefore: string, networksBefore: string): Promise<number> {
  const counts = await db.deleteFrom('fetch_counts').where('day', '<', countsBefore).executeTakeFirst()
  const networks = await db.deleteFrom('fetch_networks').where('day', '<', networksBefore).executeTakeFirst()
  return Number(counts.numDeletedRows) + Number(networks.numDeletedRows)
}
