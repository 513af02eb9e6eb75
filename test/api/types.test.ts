// Type-level checks of the DataStream API: test/fixtures/types/good.ts must compile, and each
// bad-*.ts must fail to compile exactly on the line marked `// expect-error`. Runs the real
// TypeScript compiler with 'weir-stream' mapped to src/index.ts through a throwaway tsconfig.

import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WAIT_MS } from '../helpers/deadlines.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixtures = join(root, 'test/fixtures/types')
const tsc = join(root, 'node_modules/.bin/tsc')
const badFiles = readdirSync(fixtures).filter((f) => f.startsWith('bad-') && f.endsWith('.ts')).sort()

interface Diagnostic {
  file: string
  line: number
  column: number
  code: string
  message: string
}

let output = ''
let exitCode: number | null = null
let diagnostics: Diagnostic[] = []

function compile(files: string[]): Promise<{ code: number | null; output: string }> {
  // The tsconfig lives inside the repository (in the git-ignored .weir-tmp) so that
  // `--types node` finds node_modules/@types/node by walking up, as it does for the project.
  mkdirSync(join(root, '.weir-tmp'), { recursive: true })
  const tmp = mkdtempSync(join(root, '.weir-tmp', 'types-'))
  const config = join(tmp, 'tsconfig.json')
  writeFileSync(config, JSON.stringify({ compilerOptions: { paths: { 'weir-stream': [join(root, 'src/index.ts')] } }, files }, null, 2))
  const flags = [
    '-p', config, '--noEmit', '--pretty', 'false',
    '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
    '--skipLibCheck', '--allowImportingTsExtensions', '--types', 'node',
  ]
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    execFile(tsc, flags, { cwd: root, timeout: WAIT_MS }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error)
      resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr })
    })
  }).finally(() => rmSync(tmp, { recursive: true, force: true }))
}

function parse(text: string): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const line of text.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line)
    if (m) out.push({ file: relative(root, resolve(root, m[1]!)), line: Number(m[2]), column: Number(m[3]), code: m[4]!, message: m[5]! })
  }
  return out
}

function expectedLine(file: string): number {
  const lines = readFileSync(join(fixtures, file), 'utf8').split('\n')
  const marked = lines.flatMap((l, i) => (l.includes('// expect-error') ? [i + 1] : []))
  assert.equal(marked.length, 1, `${file} must mark exactly one line with // expect-error`)
  return marked[0]!
}

before(async () => {
  assert.ok(existsSync(tsc), `TypeScript compiler not found at ${tsc}`)
  const result = await compile(['good.ts', ...badFiles].map((f) => join(fixtures, f)))
  exitCode = result.code
  output = result.output
  diagnostics = parse(output)
})

test('there is a bad fixture for each typing mistake the API must catch', () => {
  assert.deepEqual(badFiles, [
    'bad-flatmap-collect.ts',
    'bad-map-param.ts',
    'bad-max-string-length.ts',
    'bad-min-index-beyond-tuple.ts',
    'bad-sink-type.ts',
    'bad-sum-mixed-field.ts',
    'bad-sum-primitive.ts',
    'bad-sum-string-field.ts',
    'bad-sum-string-index.ts',
    'bad-sum-zero-primitive.ts',
  ])
})

test('the compiler runs with the given flags and reports only diagnostics for the fixtures', () => {
  assert.notEqual(exitCode, 0, 'the bad fixtures must make tsc fail')
  assert.ok(diagnostics.length > 0, `no diagnostics parsed from:\n${output}`)
  for (const d of diagnostics) {
    assert.match(d.file, /^test\/fixtures\/types\/bad-[\w-]+\.ts$/, `diagnostic outside the bad fixtures: ${JSON.stringify(d)}\n${output}`)
  }
  assert.doesNotMatch(output, /error TS5\d{3}/, 'tsc rejected an option')
})

test('the typed API example good.ts compiles without errors', () => {
  const own = diagnostics.filter((d) => d.file.endsWith('/good.ts'))
  assert.deepEqual(own, [], output)
})

for (const file of badFiles) {
  test(`${file} fails to compile on the line marked expect-error`, () => {
    const line = expectedLine(file)
    const own = diagnostics.filter((d) => d.file === `test/fixtures/types/${file}`)
    assert.ok(own.length >= 1, `${file} compiled without errors:\n${output}`)
    assert.deepEqual([...new Set(own.map((d) => d.line))], [line], `errors of ${file}:\n${own.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n')}`)
  })
}

test('tsc accepts the flags: good.ts compiled alone exits 0 with no output', async () => {
  const result = await compile([join(fixtures, 'good.ts')])
  assert.equal(result.code, 0, result.output)
  assert.equal(result.output.trim(), '')
})

test('sum, min and max on a stream of plain values say in the compiler message what to use instead', () => {
  for (const file of ['bad-sum-primitive.ts', 'bad-sum-zero-primitive.ts', 'bad-max-string-length.ts']) {
    const own = diagnostics.filter((d) => d.file === `test/fixtures/types/${file}`)
    assert.ok(own.some((d) => /on a stream of plain values use reduce/.test(d.message)), `${file}: ${own.map((d) => d.message).join('\n')}`)
  }
})
