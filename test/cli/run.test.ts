// `weir run` through the real command line: a child process running bin/weir.js (the built
// CLI in dist/; `npm test` builds it first). Output, exit codes, error messages, job
// arguments, signals and configuration files.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WAIT_MS } from '../helpers/deadlines.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/weir.js')
const wordcount = join(root, 'examples/wordcount.ts')
const fixture = (name: string) => join(root, 'test/fixtures/jobs', `${name}.ts`)

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Starts `weir ...args`; the caller must wait for it or kill it. */
function spawnWeir(args: string[], cwd = root): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
}

/** Waits for a child to exit; kills it (by pid) if it takes longer than `timeoutMs`. */
function exited(child: ChildProcess, timeoutMs: number): Promise<Run> {
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`weir did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

function weir(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return exited(spawnWeir(args, options.cwd), options.timeoutMs ?? WAIT_MS)
}

/** Every run that starts a job passes this: its embedded REST API then listens on a free port, not 8081. */
// --no-typecheck: these tests are about running; the type check before a run has its own tests
// (typecheck.test.ts) and costs seconds of CPU per run on a busy machine.
const REST = ['--no-typecheck', '-D', 'rest.port=0']

const lines = (text: string) => text.split('\n').filter((l) => l.length > 0)

/** Asserts a usage error: exit code 2 and one `weir: ...` line matching every pattern, without a stack trace. */
function assertOneLineError(run: Run, ...patterns: RegExp[]): void {
  assert.equal(run.code, 2, `exit code; stderr:\n${run.stderr}`)
  const errorLines = lines(run.stderr).filter((l) => !l.startsWith('(run weir --help'))
  assert.equal(errorLines.length, 1, `expected one line on stderr, got:\n${run.stderr}`)
  assert.match(errorLines[0]!, /^weir: /)
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace')
  for (const p of patterns) assert.match(errorLines[0]!, p)
  assert.equal(run.stdout, '')
}

let tmp = ''
let input = ''
const EXPECTED = new Map([['hello', 3], ['world', 2], ['straße', 2], ['café', 1]])

before(() => {
  if (!existsSync(join(root, 'dist/cli/main.js'))) {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' })
  }
  tmp = mkdtempSync(join(tmpdir(), 'weir-cli-'))
  input = join(tmp, 'input.txt')
  writeFileSync(input, 'Hello world, hello Straße!\nWORLD: café. straße? hello\n')
})

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

function finalCounts(stdout: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const line of lines(stdout)) {
    const m = /^(?:\d+> )?\(([^,]+),(\d+)\)$/.exec(line)
    assert.ok(m, `not a (word,count) line: ${line}`)
    counts.set(m[1]!, Math.max(counts.get(m[1]!) ?? 0, Number(m[2])))
  }
  return counts
}

// --- Running jobs ---------------------------------------------------------------------------

test('weir run examples/wordcount.ts --input FILE prints (word,count) lines and exits 0', async () => {
  const run = await weir(['run', ...REST, wordcount, '--input', input])
  assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(finalCounts(run.stdout), EXPECTED)
  assert.equal(lines(run.stdout).length, 8, 'one line per word read')
  assert.match(run.stderr, /Job 'WordCount' finished/)
})

test('weir run -p 2 prefixes every line with the subtask, 1> or 2>', async () => {
  const run = await weir(['run', ...REST, '-p', '2', wordcount, '--input', input])
  assert.equal(run.code, 0, run.stderr)
  for (const line of lines(run.stdout)) assert.match(line, /^[12]> \(/)
  assert.deepEqual(finalCounts(run.stdout), EXPECTED)
})

test('weir started by node with V8 flags (a bigger heap, no background GC) runs its job in slot threads: the threads do without the flags, which apply to the whole process', async () => {
  const child = spawn(process.execPath, ['--max-old-space-size=700', '--single-threaded-gc', bin, 'run', ...REST, '-p', '2', wordcount, '--input', input], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
  const run = await exited(child, WAIT_MS)
  assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(finalCounts(run.stdout), EXPECTED)
})

test('weir run -D parallelism.default=1 runs at parallelism 1: lines carry no prefix', async () => {
  const run = await weir(['run', ...REST, '-D', 'parallelism.default=1', wordcount, '--input', input])
  assert.equal(run.code, 0, run.stderr)
  assert.equal(lines(run.stdout).length, 8)
  for (const line of lines(run.stdout)) assert.match(line, /^\([^,]+,\d+\)$/)
  assert.deepEqual(finalCounts(run.stdout), EXPECTED)
})

// --- Bad input: one line on stderr, no stack trace, exit code 2 -----------------------------

test('a missing job file is a one-line error naming the file', async () => {
  assertOneLineError(await weir(['run', 'test/fixtures/jobs/does-not-exist.ts']), /not found/, /does-not-exist\.ts/)
})

test('a job file without a default export is a one-line error naming the job file', async () => {
  const run = await weir(['run', ...REST, 'test/fixtures/jobs/no-default-export.ts'])
  assertOneLineError(run, /no default export/)
  // The message must name the user's file, not the temporary bundle it was compiled into.
  assert.match(run.stderr, /no-default-export\.ts/)
})

test('a job file whose default export is not a job is a one-line error naming the job file', async () => {
  const run = await weir(['run', ...REST, 'test/fixtures/jobs/not-a-job.ts'])
  assertOneLineError(run, /is not a job/)
  assert.match(run.stderr, /not-a-job\.ts/)
})

test('an unknown option is a usage error naming the option', async () => {
  assertOneLineError(await weir(['run', '--bogus', 'x.ts']), /unknown option '--bogus'/)
})

test('a -D value without = is a one-line error', async () => {
  assertOneLineError(await weir(['run', '-D', 'nokey', wordcount]), /-D expects key=value/, /'nokey'/)
})

test('an unknown configuration key given with -D is a one-line error naming the key', async () => {
  assertOneLineError(await weir(['run', '-D', 'foo.bar=1', wordcount]), /unknown configuration key 'foo\.bar'/)
})

test('an invalid configuration value is a one-line error naming the key and the value', async () => {
  assertOneLineError(await weir(['run', '-D', 'parallelism.default=abc', wordcount]), /parallelism\.default/, /abc/)
})

test('-p 0 is a one-line error', async () => {
  assertOneLineError(await weir(['run', '-p', '0', wordcount]), /-p/, /positive integer/)
})

test('a missing --input file fails with an error saying not found and naming the path, without a stack trace', async () => {
  // The file is looked for when the job's source enumerates its splits, so this is a failed
  // job (exit code 1) rather than a usage error, but still a single error line.
  const missing = join(tmp, 'no-such-input.txt')
  const run = await weir(['run', ...REST, wordcount, '--input', missing])
  assert.notEqual(run.code, 0)
  assert.equal(run.stdout, '')
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace')
  const errors = lines(run.stderr).filter((l) => /not found/.test(l))
  assert.equal(errors.length, 1, run.stderr)
  assert.ok(errors[0]!.includes(missing), `the error names ${missing}: ${errors[0]}`)
})

test('a syntax error in the job file is a one-line error naming file:line', async () => {
  const dir = join(tmp, 'syntax')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'broken.ts'), "import { defineJob } from 'weir-stream'\n\nexport default defineJob('Broken', (env) => {\n  env.fromElements(1, 2).map((x) => x +* ).print()\n})\n")
  assertOneLineError(await weir(['run', 'broken.ts'], { cwd: dir }), /cannot compile/, /broken\.ts:4\b/)
})

test('a job whose builder throws is a one-line error naming the job and the message', async () => {
  assertOneLineError(await weir(['run', ...REST, fixture('failing-builder')]), /'BrokenBuilder'/, /--url is required/)
})

// --- A failing job ----------------------------------------------------------------------------

test('a user function that throws fails with exit code 1, naming job, operator, subtask, message and the user\'s stack', async () => {
  const run = await weir(['run', ...REST, '-p', '2', fixture('throwing-map')])
  assert.equal(run.code, 1, run.stderr)
  assert.match(run.stderr, /'Thrower'/)
  assert.match(run.stderr, /'Exploder'/)
  assert.match(run.stderr, /subtask [12]\/2/)
  assert.match(run.stderr, /boom at 42/)
  // The stack must point into the job's source file (not only into the temporary bundle).
  assert.match(run.stderr, /throwing-map\.ts:\d+/, `no stack line into the fixture:\n${run.stderr}`)
})

// --- Job arguments ----------------------------------------------------------------------------

function reported(run: Run): { args: string[]; params: Record<string, string>; parallelism: number } {
  assert.equal(run.code, 0, run.stderr)
  const out = lines(run.stdout)
  assert.equal(out.length, 1, run.stdout)
  return JSON.parse(out[0]!)
}

test('arguments after the job file reach the job as env.args and env.params', async () => {
  const r = reported(await weir(['run', ...REST, '-p', '1', fixture('print-args'), '--a', '1', '--b=2', '-x']))
  assert.deepEqual(r.args, ['--a', '1', '--b=2', '-x'])
  assert.deepEqual(r.params, { a: '1', b: '2', x: 'true' })
})

test("options after the job file belong to the job, not to weir", async () => {
  const r = reported(await weir(['run', ...REST, '-p', '1', fixture('print-args'), '-p', '3', '-D', 'foo.bar=1', '--config', 'nowhere.yaml']))
  assert.deepEqual(r.args, ['-p', '3', '-D', 'foo.bar=1', '--config', 'nowhere.yaml'])
  assert.equal(r.params.p, '3')
  assert.equal(r.parallelism, 1, 'the -p after the job file must not set the parallelism')
})

// --- Signals ----------------------------------------------------------------------------------

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} cancels a running unbounded job and weir exits with ${code}`, async () => {
    // Plain lines (stderr is a pipe here, so the default would be JSON lines).
    const child = spawnWeir(['run', ...REST, '--log-format', 'human', '-p', '2', fixture('endless')])
    try {
      // Deadlines are generous: on a loaded machine starting two slots can take seconds.
      const done = exited(child, 2 * WAIT_MS)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the endless job printed nothing within ${WAIT_MS} ms`)), WAIT_MS)
        const onData = (s: string) => {
          if (s.includes('tick 2')) {
            clearTimeout(timer)
            child.stdout!.off('data', onData)
            resolve()
          }
        }
        child.stdout!.on('data', onData)
        child.on('exit', () => reject(new Error('weir exited before the job ran')))
      })
      child.kill(signal)
      const run = await done
      assert.equal(run.code, code, run.stderr)
      assert.match(lines(run.stderr).at(-1)!, new RegExp(`^Job 'Endless' canceled \\(by ${signal}\\) after \\d+\\.\\d\\ds`))
      assert.doesNotMatch(run.stderr, /^\s+at /m)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  })
}

// --- Configuration files ----------------------------------------------------------------------

// A parallelism that differs from the default (the number of cores), so that it shows it was read.
const CONFIGURED = availableParallelism() + 1

test('weir.yaml in the working directory is honoured', async () => {
  const dir = join(tmp, 'with-weir-yaml')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'weir.yaml'), `parallelism.default: ${CONFIGURED}\n`)
  const r = reported(await weir(['run', ...REST, fixture('print-args')], { cwd: dir }))
  assert.equal(r.parallelism, CONFIGURED)
})

test('-D and -p take precedence over weir.yaml', async () => {
  const dir = join(tmp, 'with-weir-yaml')
  assert.equal(reported(await weir(['run', ...REST, '-D', 'parallelism.default=1', fixture('print-args')], { cwd: dir })).parallelism, 1)
  assert.equal(reported(await weir(['run', ...REST, '-D', 'parallelism.default=1', '-p', '2', fixture('print-args')], { cwd: dir })).parallelism, 2)
})

test('--config FILE is honoured, with nested keys', async () => {
  const file = join(tmp, 'custom.yaml')
  writeFileSync(file, `parallelism:\n  default: ${CONFIGURED}\n`)
  const r = reported(await weir(['run', ...REST, '--config', file, fixture('print-args')]))
  assert.equal(r.parallelism, CONFIGURED)
})

test('an unknown key in --config FILE fails naming the key', async () => {
  const file = join(tmp, 'typo.yaml')
  writeFileSync(file, 'parallelism.defualt: 2\n')
  assertOneLineError(await weir(['run', '--config', file, fixture('print-args')]), /parallelism\.defualt/)
})

test('an unknown key in weir.yaml fails naming the key', async () => {
  const dir = join(tmp, 'with-bad-weir-yaml')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'weir.yaml'), 'taskmanager.slots: 2\n')
  assertOneLineError(await weir(['run', fixture('print-args')], { cwd: dir }), /taskmanager\.slots/)
})

test('a checkpoint directory that cannot be created fails with the reason of the operating system, without a stack trace', async () => {
  const file = join(tmp, 'checkpoints-is-a-file')
  writeFileSync(file, 'x')
  const run = await weir(['run', ...REST, '-D', 'execution.checkpointing.interval=1s', '-D', `state.checkpoints.dir=${join(file, 'chk')}`, fixture('print-args')])
  assert.equal(run.code, 1, run.stderr)
  assert.match(run.stderr, /cannot create directory .*checkpoints-is-a-file.* exists and is not a directory \(ENOTDIR\)/)
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace')
})

test('a socket source gets one warning line saying what it cannot do; the job reads the socket and finishes when it closes', async () => {
  const { createServer } = await import('node:net')
  const { socketWarning } = await import('../../src/runtime/jobmanager/states/created.ts')
  const server = createServer((socket) => socket.end('hello socket\n'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const port = (server.address() as { port: number }).port
    const run = await weir(['run', ...REST, '--log-format', 'human', '-p', '1', wordcount, '--host', '127.0.0.1', '--port', String(port)])
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(lines(run.stdout).sort(), ['(hello,1)', '(socket,1)'])
    const warnings = lines(run.stderr).filter((l) => /warn/i.test(l))
    assert.deepEqual(warnings, [socketWarning(`Socket Stream 127.0.0.1:${port}`)])
    assert.equal(socketWarning('Socket Stream').split('\n').length, 1)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test('a parallelism far above the number of cores gets a one-line warning; up to 4 slots per core none', async () => {
  const { parallelismWarning } = await import('../../src/cli/run.ts')
  assert.equal(parallelismWarning(8, 2), null)
  assert.equal(parallelismWarning(2, 2), null)
  const w = parallelismWarning(200, 2)
  assert.equal(w, 'Warning: 200 slots on 2 core(s): slots beyond the cores add start-up time and memory, not speed (-p 2 uses every core).')
})

test("Weir's -D options written after the job file get a one-line warning: they are the job's arguments there", async () => {
  const { misplacedOptionsWarning } = await import('../../src/cli/run.ts')
  assert.equal(misplacedOptionsWarning([]), null)
  assert.equal(misplacedOptionsWarning(['--input', 'words.txt', '-D', 'my.own.flag=1']), null, "a key Weir does not read is the job's business")
  assert.equal(misplacedOptionsWarning(['--input', 'in', '-D', 'state.backend.type=lmdb']),
    "Warning: -D state.backend.type=lmdb comes after the job file, so the job gets it as its own argument and Weir does not: put Weir's options before the job file (weir run [options] job.ts [job arguments]).")
  // Both spellings, and Flink 1.x's names as well as Flink 2's.
  const w = misplacedOptionsWarning(['-Dexecution.checkpointing.interval=1s', '-D', 'state.checkpoints.dir=/tmp/c'])
  assert.match(w ?? '', /^Warning: -D execution\.checkpointing\.interval=1s -D state\.checkpoints\.dir=\/tmp\/c come after the job file, so the job gets them as its own arguments/)
})
