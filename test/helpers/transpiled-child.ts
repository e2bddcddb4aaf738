import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import ts from 'typescript'
import { tempDir } from './fixtures.js'

const ROOT = join(import.meta.dirname, '..', '..')

/**
 * `src/` and `test/helpers/crash-child.ts` transpiled to JavaScript in a temp
 * folder (node_modules linked in), so a crash test can start dozens of child
 * processes with plain `node` instead of paying the TypeScript loader's start
 * time for each. Returns the path of `crash-child.js`.
 */
export async function transpiledCrashChild (t: { teardown (fn: () => unknown): void }): Promise<string> {
  const out = await tempDir(t, 'mta-sts-js-')
  await writeFile(join(out, 'package.json'), '{"type":"module"}\n')
  await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'))
  const sources = (await readdir(join(ROOT, 'src'), { recursive: true })).filter(f => f.endsWith('.ts')).map(f => join('src', f))
  for (const file of [...sources, join('test', 'helpers', 'crash-child.ts')]) {
    const { outputText } = ts.transpileModule(await readFile(join(ROOT, file), 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    })
    const dest = join(out, file.replace(/\.ts$/, '.js'))
    await mkdir(dirname(dest), { recursive: true })
    await writeFile(dest, outputText)
  }
  return join(out, 'test', 'helpers', 'crash-child.js')
}
