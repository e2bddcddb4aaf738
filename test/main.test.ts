import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { runCli } from './helpers/cli.js'
import { preamble, tempDir } from './helpers/service-harness.js'
t.test('every command has --help', async t => {
  // Started together: each child spends most of its time loading TypeScript, and the two cores can share that.
  const all = [['--help'], ['serve', '--help'], ['validate', '--help'], ['dns', '--help'], ['check', '--help'], ['propose', '--help']]
  const clis = all.map(args => ({ args, cli: runCli(t, args) }))
  for (const { args, cli } of clis) {
    const { code } = await cli.exit
    t.equal(code, 0, args.join(' '))
    t.match(cli.lines.map(l => l.text).join('\n'), new RegExp(`Usage: mta-sts-host ${args.length > 1 ? args[0] : ''}`))
  }
})

t.test('validate and serve refuse an invalid file with file:line:column errors', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'bad.yaml')
  await writeFile(file, preamble(dir) + 'tenants:\n  example.com:\n    mode: enforcing\n    mx: [mx1.example.com]\n')
  const validate = runCli(t, ['validate', file])
  t.equal((await validate.exit).code, 1)
  t.match(validate.stderr(), `${file}:12:11: tenants."example.com".mode must be one of enforce, testing, none (got "enforcing") (did you mean "enforce"?)`)
  const check = runCli(t, ['check', '--config', file, '--json', '--resolver', '127.0.0.1:9'])
  t.equal((await check.exit).code, 2, 'check: exit 2 on an invalid file')
  t.match(check.stderr(), 'mode must be one of enforce, testing, none')
  const propose = runCli(t, ['propose', '--config', file, 'example.org', '--resolver', '127.0.0.1:9'])
  t.equal((await propose.exit).code, 2, 'propose: exit 2 on an invalid file')
  t.match(propose.stderr(), 'mode must be one of enforce, testing, none')
  const serve = runCli(t, ['serve', '--config', file])
  t.equal((await serve.exit).code, 1)
  t.match(serve.stderr(), /not starting: 1 error\(s\)/)
  t.equal(serve.lines.length, 0, 'nothing was served')
})
