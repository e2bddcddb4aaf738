import { InternalCa } from './src/tls/internal-ca.js'
import { MemoryStore } from './src/store/memory-store.js'
import { systemClock } from './src/clock.js'
import { inspectCertificate } from './src/tls/certified-key.js'
const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
let t = Date.now()
for (let i = 0; i < 100; i++) { const c = await ca.obtain(`mta-sts.t${i}.example`); inspectCertificate(`mta-sts.t${i}.example`, c.certPem, c.keyPem) }
console.log('per cert ms', (Date.now() - t) / 100)
const c = await ca.obtain('mta-sts.example.com'); console.log(c.certPem)
