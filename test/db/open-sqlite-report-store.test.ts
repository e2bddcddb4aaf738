import { join } from 'node:path'
import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { openSqliteDatabase } from '../../src/db/open-sqlite-database.js'
import { openSqliteReportStore } from '../../src/db/open-sqlite-report-store.js'
import { tempDir } from '../helpers/fixtures.js'

const OPTIONS = { maxReportBytes: 1024 * 1024, rawRetentionDays: 30, retentionDays: 365, clock: systemClock }

t.test('a database written by a newer version (a migration this one does not know) is refused, naming it', async t => {
  const file = join(await tempDir(t), 'r.sqlite')
  const store = await openSqliteReportStore(file, OPTIONS)
  await store.close()
  const db = openSqliteDatabase(file)
  await db.insertInto('schema_migrations' as never).values({ name: '0999-from-the-future', timestamp: new Date().toISOString() } as never).execute()
  await db.destroy()
  await t.rejects(openSqliteReportStore(file, OPTIONS), { message: /^report database migration .*failed: .*0999-from-the-future/ })
})
