// The type check before a job runs (src/cli/typecheck.ts), through the real command line:
// `weir run` refuses a job with type errors before starting it, `--no-typecheck` skips the
// check, `weir check` only checks, a job outside any project is checked against Weir's own
// types, a project's tsconfig.json is honoured, and an import of a name weir-stream does not
// export is one line naming the name and the job file, with or without the check.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WAIT_MS } from '../helpers/deadlines.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/weir.js')
let dir: string

interface Run { code: number | null; stdout: string; stderr: string }

function weir(args: string[], cwd = dir): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`weir ${args.join(' ')} did not exit within ${WAIT_MS} ms\n${stderr}`))
    }, WAIT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const lines = (text: string) => text.split('\n').filter((l) => l.length > 0)

/** Three type errors; the pipeline itself runs fine when the check is skipped. */
const THREE_ERRORS = `import { defineJob } from 'weir-stream'

export default defineJob('ThreeErrors', (env) => {
  const label: number = 'squares'
  const copies: string = 2
  void Math.max('a', label, copies)
  env.fromElements(1, 2, 3).map((n) => n * n).print()
})
`

const GOOD = `import { defineJob } from 'weir-stream'

export default defineJob('Good', (env) => {
  env.fromElements(1, 2, 3).map((n) => n * n).print()
})
`

const MISSING_EXPORT = `import { defineJob, windowAll } from 'weir-stream'

export default defineJob('MissingExport', (env) => {
  env.fromElements(1).print()
  void windowAll
})
`

before(() => {
  // Outside the repository: no tsconfig.json, no node_modules, as a job of one's own in a fresh directory.
  dir = mkdtempSync(join(tmpdir(), 'weir-typecheck-test-'))
  writeFileSync(join(dir, 'three-errors.ts'), THREE_ERRORS)
  writeFileSync(join(dir, 'good.ts'), GOOD)
  writeFileSync(join(dir, 'missing-export.ts'), MISSING_EXPORT)
})

after(() => rmSync(dir, { recursive: true, force: true }))

test('weir run refuses a job with three type errors before it starts, listing each as file:line:column (exit 2)', async () => {
  const run = await weir(['run', '-D', 'rest.port=0', 'three-errors.ts'])
  assert.equal(run.code, 2, run.stderr)
  assert.equal(run.stdout, '', 'the job must not have run')
  const errors = lines(run.stderr).filter((l) => /^\s+three-errors\.ts:\d+:\d+ - error TS\d+: /.test(l))
  assert.equal(errors.length, 3, run.stderr)
  assert.match(run.stderr, /^weir: three-errors\.ts has 3 type errors \(--no-typecheck skips the check\):$/m)
  assert.match(run.stderr, /three-errors\.ts:4:9 - error TS2322: Type 'string' is not assignable to type 'number'/)
  assert.doesNotMatch(run.stderr, /^\s+at /m)
})

test('--no-typecheck runs the same job', async () => {
  const run = await weir(['run', '--no-typecheck', '-D', 'rest.port=0', '-p', '1', 'three-errors.ts'])
  assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(lines(run.stdout), ['1', '4', '9'])
})

test("weir check only checks: 0 and 'no type errors' for a good job, 1 and the errors for a bad one; nothing runs", async () => {
  const good = await weir(['check', 'good.ts'])
  assert.equal(good.code, 0, good.stderr)
  assert.match(good.stdout, /^good\.ts: no type errors \(TypeScript \d+\.\d+\.\d+ \((Weir's|the project's)\), \d+\.\d\ds\)\n$/)
  const bad = await weir(['check', 'three-errors.ts'])
  assert.equal(bad.code, 1, bad.stderr)
  assert.equal(lines(bad.stdout).length, 3, bad.stdout)
  assert.match(bad.stderr, /three-errors\.ts: 3 type error\(s\)/)
})

test('weir check of a missing file or a JavaScript file is a usage error', async () => {
  assert.equal((await weir(['check', 'nope.ts'])).code, 2)
  writeFileSync(join(dir, 'plain.js'), 'export default 1\n')
  const js = await weir(['check', 'plain.js'])
  assert.equal(js.code, 2)
  assert.match(js.stderr, /plain\.js is not a TypeScript file/)
})

test('a job importing a name weir-stream does not export gets one line naming the name and the job file, with or without the check', async () => {
  const checked = await weir(['run', '-D', 'rest.port=0', 'missing-export.ts'])
  assert.equal(checked.code, 2, checked.stderr)
  assert.equal(lines(checked.stderr).length, 1, checked.stderr)
  assert.match(checked.stderr, /^weir: missing-export\.ts:1:21 - error TS\d+: .*'windowAll'/)
  const unchecked = await weir(['run', '--no-typecheck', '-D', 'rest.port=0', 'missing-export.ts'])
  assert.equal(unchecked.code, 2, unchecked.stderr)
  assert.deepEqual(lines(unchecked.stderr), [`weir: missing-export.ts imports 'windowAll' from 'weir-stream', which does not export it`])
})

test("a project's tsconfig.json is honoured: noUnusedLocals there makes an unused variable an error", async () => {
  const project = join(dir, 'project')
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), '{ "name": "p", "type": "module" }\n')
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noUnusedLocals: true, module: 'preserve', moduleResolution: 'bundler', target: 'ES2022', noEmit: true, skipLibCheck: true, paths: { 'weir-stream': [join(root, 'src/index.ts')] } },
  }))
  writeFileSync(join(project, 'job.ts'), GOOD.replace("env.fromElements", "const unused = 1\n  env.fromElements"))
  const strict = await weir(['check', 'job.ts'], project)
  assert.equal(strict.code, 1, strict.stdout + strict.stderr)
  assert.match(strict.stdout, /job\.ts:4:9 - error TS6133: 'unused' is declared but its value is never read/)
  // The same file outside that project checks clean with Weir's defaults.
  writeFileSync(join(dir, 'unused.ts'), GOOD.replace("env.fromElements", "const unused = 1\n  env.fromElements"))
  assert.equal((await weir(['check', 'unused.ts'])).code, 0)
})
