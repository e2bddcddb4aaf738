import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely'

/**
 * The report database's schema, one versioned step per entry, applied in name order.
 * Never edit a step that has shipped: add the next one.
 */
export const REPORT_MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-reports': {
    async up (db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('raw_reports')
        .addColumn('id', 'integer', c => c.primaryKey().autoIncrement())
        .addColumn('received_at', 'text', c => c.notNull())
        .addColumn('transport', 'text', c => c.notNull())
        .addColumn('source', 'text', c => c.notNull())
        .addColumn('label', 'text')
        .addColumn('sha256', 'text', c => c.notNull().unique())
        .addColumn('size', 'integer', c => c.notNull())
        .addColumn('content', 'blob')
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('error', 'text')
        .addColumn('report_row', 'integer')
        .execute()
      await db.schema.createIndex('raw_reports_status').on('raw_reports').columns(['status', 'id']).execute()
      await db.schema.createIndex('raw_reports_received').on('raw_reports').column('received_at').execute()
      await db.schema.createTable('reports')
        .addColumn('id', 'integer', c => c.primaryKey().autoIncrement())
        .addColumn('raw_id', 'integer', c => c.notNull())
        .addColumn('organization', 'text', c => c.notNull())
        .addColumn('report_id', 'text', c => c.notNull())
        .addColumn('start_at', 'text', c => c.notNull())
        .addColumn('end_at', 'text', c => c.notNull())
        .addColumn('contact', 'text')
        .addColumn('day', 'text', c => c.notNull())
        .addColumn('notes', 'text', c => c.notNull())
        .addUniqueConstraint('reports_identity', ['organization', 'report_id', 'start_at', 'end_at'])
        .execute()
      await db.schema.createIndex('reports_day').on('reports').column('day').execute()
      await db.schema.createTable('report_policies')
        .addColumn('id', 'integer', c => c.primaryKey().autoIncrement())
        .addColumn('report_row', 'integer', c => c.notNull().references('reports.id').onDelete('cascade'))
        .addColumn('domain', 'text', c => c.notNull())
        .addColumn('day', 'text', c => c.notNull())
        .addColumn('organization', 'text', c => c.notNull())
        .addColumn('policy_type', 'text', c => c.notNull())
        .addColumn('policy_strings', 'text', c => c.notNull())
        .addColumn('mode', 'text')
        .addColumn('mx', 'text', c => c.notNull())
        .addColumn('max_age', 'integer')
        .addColumn('mx_hosts', 'text', c => c.notNull())
        .addColumn('successful', 'integer', c => c.notNull())
        .addColumn('failed', 'integer', c => c.notNull())
        .execute()
      await db.schema.createIndex('report_policies_domain_day').on('report_policies').columns(['domain', 'day']).execute()
      await db.schema.createIndex('report_policies_report').on('report_policies').column('report_row').execute()
      await db.schema.createTable('report_failures')
        .addColumn('id', 'integer', c => c.primaryKey().autoIncrement())
        .addColumn('policy_row', 'integer', c => c.notNull().references('report_policies.id').onDelete('cascade'))
        .addColumn('domain', 'text', c => c.notNull())
        .addColumn('day', 'text', c => c.notNull())
        .addColumn('result_type', 'text', c => c.notNull())
        .addColumn('sending_ip', 'text')
        .addColumn('receiving_mx', 'text')
        .addColumn('receiving_helo', 'text')
        .addColumn('receiving_ip', 'text')
        .addColumn('sessions', 'integer', c => c.notNull())
        .addColumn('reason_code', 'text')
        .addColumn('additional_info', 'text')
        .execute()
      await db.schema.createIndex('report_failures_domain_day').on('report_failures').columns(['domain', 'day']).execute()
      await db.schema.createIndex('report_failures_policy').on('report_failures').column('policy_row').execute()
    },
    async down (db: Kysely<unknown>): Promise<void> {
      for (const table of ['report_failures', 'report_policies', 'reports', 'raw_reports']) await db.schema.dropTable(table).execute()
    },
  },
  '0002-fetch-stats': {
    async up (db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('fetch_counts')
        .addColumn('domain', 'text', c => c.notNull())
        .addColumn('policy_id', 'text', c => c.notNull())
        .addColumn('day', 'text', c => c.notNull())
        .addColumn('sender', 'text', c => c.notNull())
        .addColumn('fetches', 'integer', c => c.notNull())
        .addColumn('last_at', 'text', c => c.notNull())
        .addPrimaryKeyConstraint('fetch_counts_key', ['domain', 'day', 'policy_id', 'sender'])
        .execute()
      await db.schema.createIndex('fetch_counts_day').on('fetch_counts').column('day').execute()
      await db.schema.createTable('fetch_networks')
        .addColumn('domain', 'text', c => c.notNull())
        .addColumn('day', 'text', c => c.notNull())
        .addColumn('network', 'text', c => c.notNull())
        .addPrimaryKeyConstraint('fetch_networks_key', ['domain', 'day', 'network'])
        .execute()
      await db.schema.createIndex('fetch_networks_day').on('fetch_networks').column('day').execute()
      await db.schema.createTable('policy_changes')
        .addColumn('id', 'integer', c => c.primaryKey().autoIncrement())
        .addColumn('domain', 'text', c => c.notNull())
        .addColumn('at', 'text', c => c.notNull())
        .addColumn('mode', 'text', c => c.notNull())
        .addColumn('policy_id', 'text', c => c.notNull())
        .execute()
      await db.schema.createIndex('policy_changes_domain').on('policy_changes').columns(['domain', 'id']).execute()
    },
    async down (db: Kysely<unknown>): Promise<void> {
      for (const table of ['policy_changes', 'fetch_networks', 'fetch_counts']) await db.schema.dropTable(table).execute()
    },
  },
})

/** Hands Kysely's Migrator the steps compiled into this build (no files to find at run time). */
const provider: MigrationProvider = { getMigrations: async () => ({ ...REPORT_MIGRATIONS }) }

/**
 * Brings the report database to the latest schema. Kysely's Migrator takes a lock
 * (a lock table in SQLite, an advisory lock in PostgreSQL), so replicas starting at once
 * apply each step exactly once. Throws with the failing step's name.
 */
export async function migrateReportDatabase (db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'schema_migrations', migrationLockTableName: 'schema_migrations_lock' })
  const { error, results = [] } = await migrator.migrateToLatest()
  const failed = results.find(r => r.status === 'Error')
  if (error !== undefined) {
    throw new Error(`report database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
  return results.filter(r => r.status === 'Success').map(r => r.migrationName)
}
