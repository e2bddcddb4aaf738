import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { validateCommand } from '../../src/cli/validate.js'
import { captureIo, tempDir, writeTempFile } from '../helpers/fixtures.js'

t.test('a valid file: exit 0, summary on stdout, nothing on stderr', async t => {
  const file = await writeTempFile(t, 'ok.yaml', 'certificates: {issuer: internal}\ntenants:\n  example.com: {mx: [mx.example.com]}\n  example.org: {mx: [mx.example.org]}\n')
  const io = captureIo()
  t.equal(await validateCommand(file, io), 0)
  t.equal(io.out(), `${file}: ok, 2 tenant(s), issuer internal, 0 warning(s)\n`)
  t.equal(io.err(), '')
})

t.test('a valid file with warnings: exit 0, warnings on stderr', async t => {
  const file = await writeTempFile(t, 'warn.yaml', 'tenants:\n  example.com:\n    mode: enforce\n    max_age: 86400\n    mx: [mx.example.com]\n')
  const io = captureIo()
  t.equal(await validateCommand(file, io), 0)
  t.equal(io.out(), `${file}: ok, 1 tenant(s), issuer internal, 2 warning(s)\n`)
  t.equal(io.err(), [
    `warning: ${file}:1:1: certificates.issuer is not set: using the internal CA, which mail senders do not trust (set issuer: acme (or files) for production)`,
    `warning: ${file}:4:14: tenant "example.com" enforces with max_age 86400, below one week (604800) (RFC 8461 suggests weeks for enforce)`,
    '',
  ].join('\n'))
})

t.test('an invalid file: exit 1, every error and warning, then a count', async t => {
  const file = await writeTempFile(t, 'bad.yaml', 'certificates: {issuer: files}\ntenants:\n  example.com:\n    mode: enforcing\n    mx: mx.example.com\n    max_age: 60\n')
  const io = captureIo()
  t.equal(await validateCommand(file, io), 1)
  t.equal(io.out(), '')
  t.equal(io.err(), [
    `warning: ${file}:6:14: tenant "example.com" has max_age 60, below one day (86400) (senders refetch the policy at most this often; use at least 86400)`,
    `error: ${file}:3:3: tenant "example.com" has no certificate files (add certificate: {cert, key} to the tenant or set certificates.files.directory)`,
    `error: ${file}:4:11: tenants."example.com".mode must be one of enforce, testing, none (got "enforcing") (did you mean "enforce"?)`,
    `error: ${file}:5:9: tenants."example.com".mx must be a list (write a list, e.g. mx: [value] or one "- value" per line)`,
    '3 error(s): configuration is invalid',
    '',
  ].join('\n'))
})

t.test('a missing file: exit 1 naming the file', async t => {
  const file = join(await tempDir(t), 'missing.yaml')
  const io = captureIo()
  t.equal(await validateCommand(file, io), 1)
  t.equal(io.out(), '')
  t.match(io.err(), new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:0:0: cannot read the configuration file: ENOENT`))
  t.match(io.err(), /\n1 error\(s\): configuration is invalid\n$/)
})

t.test('issue 7.8: an unquoted wildcard points at its own line; UTF-16 and path-like domains are named', async t => {
  const star = await writeTempFile(t, 'star.yaml', '# provider config\n# tenants below\ncertificates: {issuer: internal}\ntenants:\n  example.com:\n    mx: [*.*.example.com]\n')
  let io = captureIo()
  t.equal(await validateCommand(star, io), 1)
  t.equal(io.err(), `error: ${star}:6:10: YAML alias "*.*.example.com" names no anchor defined before it (a value starting with * is read as an alias: quote it, e.g. "*.*.example.com")\n1 error(s): configuration is invalid\n`)

  const text = 'certificates: {issuer: internal}\ntenants:\n  example.com: {mx: [mx.example.com]}\n'
  const utf16 = await writeTempFile(t, 'utf16.yaml', '')
  await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))
  io = captureIo()
  t.equal(await validateCommand(utf16, io), 1)
  t.equal(io.err(), `error: ${utf16}:1:1: the configuration file is UTF-16 (little-endian) text, not UTF-8 (save the file as UTF-8, e.g. iconv -f <encoding> -t UTF-8 FILE > FILE.utf8)\n1 error(s): configuration is invalid\n`)

  const dots = await writeTempFile(t, 'dots.yaml', 'certificates: {issuer: internal}\ntenants:\n  ../../etc: {mx: [mx.example.com]}\n')
  io = captureIo()
  t.equal(await validateCommand(dots, io), 1)
  t.equal(io.err(), `error: ${dots}:3:3: tenant domain "../../etc" has invalid characters ("/"): it must be a bare host name (no scheme, port, path or spaces)\n1 error(s): configuration is invalid\n`)
})
