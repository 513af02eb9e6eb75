// weir list / savepoint / stop / cancel against a real `weir run` (bin/weir.js, the built CLI)
// with its REST API on a free loopback port. Every process started here is killed by PID.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WAIT_MS } from '../helpers/deadlines.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const WEIR = join(ROOT, 'bin/weir.js')
const JOB = join(ROOT, 'test/fixtures/jobs/endless.ts')

const children = new Set<ChildProcess>()
let cwd: string

before(() => {
  // `npm test` builds first (pretest); a direct run needs a build (the CLI's entry holds the control commands).
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' })
  }
  cwd = mkdtempSync(join(tmpdir(), 'weir-cli-control-'))
})

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  if (cwd) rmSync(cwd, { recursive: true, force: true })
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

interface RunningJob {
  readonly child: ChildProcess
  readonly jobId: string
  readonly port: number
  stderr(): string
  /** Resolves with the exit code of `weir run`. */
  readonly exited: Promise<number | null>
}

/** Starts `weir run` on the endless job and waits until it prints where its REST API is. */
async function startRun(): Promise<RunningJob> {
  const port = await freePort()
  const child = spawn(process.execPath, [WEIR, 'run', '--no-typecheck', '-D', `rest.port=${port}`, '-D', 'rest.savepoints.allow-any-target-directory=true', '-p', '2', '--no-status', '--log-format', 'human', JOB], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let stderr = ''
  child.stdout!.resume() // the job's ticks
  child.stderr!.setEncoding('utf8')
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`weir run did not start its REST API in time; stderr:\n${stderr}`)), WAIT_MS)
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk
      if (/REST API at \S+\n/.test(stderr)) {
        clearTimeout(timer)
        resolve(stderr)
      }
    })
    void exited.then((code) => reject(new Error(`weir run exited (${code}) before its REST API started; stderr:\n${stderr}`)))
  })
  assert.match(ready, new RegExp(`^REST API at http://127\\.0\\.0\\.1:${port}$`, 'm'))
  const jobId = /\(([0-9a-f]{32})\) running/.exec(ready)?.[1]
  assert.ok(jobId, ready)
  return { child, jobId, port, stderr: () => stderr, exited }
}

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

function weir(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WEIR, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`weir ${args.join(' ')} took too long; stdout:\n${stdout}\nstderr:\n${stderr}`))
    }, WAIT_MS)
    child.once('exit', (code) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, stdout, stderr })
    })
  })
}

function kill(job: RunningJob): void {
  if (job.child.exitCode === null && job.child.signalCode === null) job.child.kill('SIGKILL')
}

test('weir list, savepoint and stop --savepoint-path against a running job', async () => {
  const job = await startRun()
  try {
    const m = `127.0.0.1:${job.port}`
    const list = await weir('list', '--jobmanager', m)
    assert.equal(list.code, 0, list.stderr)
    const lines = list.stdout.trimEnd().split('\n')
    assert.match(lines[0]!, /^JOB ID\s+STATUS\s+STARTED\s+DURATION\s+RESTARTS\s+CHECKPOINTS\s+LAST CHECKPOINT\s+NAME$/)
    assert.equal(lines.length, 2)
    assert.match(lines[1]!, new RegExp(`^${job.jobId}\\s+RUNNING\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+[\\d.]+s\\s+0\\s+0/0\\s+-\\s+Endless$`))
    const jobs = await weir('jobs', '--jobmanager', m)
    assert.equal(jobs.stdout.split('\n')[0], lines[0], 'weir jobs is weir list')
    assert.ok(jobs.stdout.split('\n')[1]!.startsWith(job.jobId))

    // A relative directory is the caller's, not the JobManager's.
    const sp = await weir('savepoint', job.jobId, 'savepoints', '-m', m)
    assert.equal(sp.code, 0, sp.stderr)
    const path = /^Savepoint completed\. Path: (.+)$/m.exec(sp.stdout)?.[1]
    assert.ok(path, sp.stdout)
    assert.equal(dirname(path), join(cwd, 'savepoints'))
    assert.ok(existsSync(join(path, '_metadata')))

    // A usage error (exit 2), naming the key in both its Flink 2 and its Flink 1.x name.
    const noDir = await weir('savepoint', job.jobId, '-m', m)
    assert.equal(noDir.code, 2)
    assert.equal(noDir.stdout, '')
    assert.match(noDir.stderr, /^weir: no savepoint directory: give one \(\[target-dir\]\), or start the job with -D execution\.checkpointing\.savepoint-dir=DIR \(state\.savepoints\.dir in Flink 1\.x\)\n$/)
    const stopNoDir = await weir('stop', job.jobId, '-m', m)
    assert.equal(stopNoDir.code, 2)
    assert.match(stopNoDir.stderr, /^weir: no savepoint directory: give one \(-p <dir>\), or start the job with -D execution\.checkpointing\.savepoint-dir=DIR \(state\.savepoints\.dir in Flink 1\.x\)\n$/)

    const badId = await weir('savepoint', 'xyz', 'savepoints', '-m', m)
    assert.equal(badId.code, 1)
    assert.equal(badId.stderr, "weir: 'xyz' is not a job id (32 hexadecimal characters); weir list shows the ids\n")

    const unknown = await weir('cancel', 'e'.repeat(32), '-m', m)
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /^weir: no job with id 'e{32}'/)
    assert.equal(unknown.stderr.trimEnd().split('\n').length, 1)

    const stop = await weir('stop', job.jobId, '--savepoint-path', join(cwd, 'stopped'), '-m', m)
    assert.equal(stop.code, 0, stop.stderr)
    const stopPath = /^Savepoint completed\. Path: (.+)$/m.exec(stop.stdout)?.[1]
    assert.ok(stopPath, stop.stdout)
    assert.equal(dirname(stopPath), join(cwd, 'stopped'))
    assert.ok(existsSync(join(stopPath, '_metadata')))

    assert.equal(await job.exited, 0, job.stderr())
    assert.match(job.stderr(), /Job 'Endless' finished/)

    const gone = await weir('list', '-m', m)
    assert.equal(gone.code, 1)
    assert.equal(gone.stderr, `weir: no JobManager at ${m}: is a job running with its REST API there?\n`)
  } finally {
    kill(job)
  }
})

test('weir cancel returns once the job is CANCELED', async () => {
  const job = await startRun()
  try {
    const m = `localhost:${job.port}`
    const stopP = await weir('stop', job.jobId, '-p', join(cwd, 'drained'), '--drain', '-m', 'localhost:1')
    assert.equal(stopP.code, 1)
    assert.equal(stopP.stderr, 'weir: no JobManager at localhost:1: is a job running with its REST API there?\n')

    const cancel = await weir('cancel', job.jobId, '-m', m)
    assert.equal(cancel.code, 0, cancel.stderr)
    assert.equal(cancel.stdout, `Cancelled job ${job.jobId}.\n`)
    // Canceled by request: exit code 3 (not 1, a failure) and a last line that says so.
    assert.equal(await job.exited, 3, job.stderr())
    assert.match(job.stderr().trimEnd().split('\n').at(-1)!, /^Job 'Endless' canceled \(by a cancel request\) after \d+\.\d\ds: \d+ record\(s\) in, \d+ out\.$/)
  } finally {
    kill(job)
  }
})

test('--jobmanager must be host:port', async () => {
  const r = await weir('list', '-m', 'localhost:http')
  assert.equal(r.code, 1)
  assert.equal(r.stderr, "weir: invalid --jobmanager 'localhost:http': expected host:port, e.g. localhost:8081\n")
})
