import { join } from 'node:path'
import t from 'tap'
import { FilesIssuer } from '../../src/tls/files-issuer.js'

const HOST = 'mta-sts.example.com'

t.test('pathsFor: the tenant’s own files first, then the directory convention, else none', async t => {
  const own = { cert: '/etc/own.crt', key: '/etc/own.key' }
  t.same(FilesIssuer.pathsFor(HOST, own, '/certs'), own)
  t.same(FilesIssuer.pathsFor(HOST, undefined, '/certs'), { cert: join('/certs', HOST, 'fullchain.pem'), key: join('/certs', HOST, 'privkey.pem') })
  t.equal(FilesIssuer.pathsFor(HOST, undefined, undefined), undefined)
})

t.test('a host without configured files: MTA_STS_CERT_FILES_NOT_CONFIGURED', async t => {
  const issuer = new FilesIssuer(() => undefined)
  const expected = { code: 'MTA_STS_CERT_FILES_NOT_CONFIGURED', message: `no certificate files configured for ${HOST}` }
  await t.rejects(issuer.obtain(HOST), expected)
  await t.rejects(issuer.version(HOST), expected)
})
