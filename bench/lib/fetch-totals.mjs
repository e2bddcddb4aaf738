#!/usr/bin/env node
// Prints the fetch statistics a stopped service left in its report database, as JSON:
// total fetches, rows and distinct networks. Used by the throughput part to check that
// counting under load lost nothing (every wrk request should be in it).
import Database from 'better-sqlite3'

const db = new Database(process.argv[2], { readonly: true })
const totals = db.prepare('select coalesce(sum(fetches), 0) as fetches, count(*) as rows from fetch_counts').get()
const networks = db.prepare('select count(*) as networks from fetch_networks').get()
console.log(JSON.stringify({ ...totals, ...networks }))
db.close()
