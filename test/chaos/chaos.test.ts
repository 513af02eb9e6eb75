// Chaos: `weir run` of an exactly-once job is SIGKILLed at random moments (before its first
// checkpoint, while running, while resuming), the newest checkpoint is damaged at random (its
// _metadata, a task state file, or a shared LMDB file it wrote; truncated, a flipped byte, or
// deleted), and the job is resumed with --from-checkpoint latest, on both state backends. A
// damaged checkpoint must be refused naming the file (then the damage is undone, as an operator
// would restore the file); every step has a deadline, so a hang fails the test rather than
// stalling CI; at the end the committed output must hold every record exactly once.
// Seeded: WEIR_CHAOS_SEED replays a run; WEIR_CHAOS_ROUNDS (default 2 per backend) makes it longer.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SeededRandom } from '../../src/testing/random.ts'
import { checkSequences } from '../helpers/sequence-check.ts'
import { checkpointIdOfSegment } from '../../src/state/lmdb/segment-file.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const WEIR = join(repo, 'bin/weir.js')
const JOB = join(repo, 'test/fixtures/recovery/sequence-job.ts')
const SEED = Number(process.env.WEIR_CHAOS_SEED ?? Date.now() % 100_000)
const ROUNDS = Number(process.env.WEIR_CHAOS_ROUNDS ?? 2)
const KEYS = 6
const N = 400
const STEP_DEADLINE_MS = 120_000
const root = mkdtempSync(join(tmpdir(), 'weir-chaos-'))
const children = new Set<ChildProcess>()
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
})

console.log(`chaos seed ${SEED} (replay with WEIR_CHAOS_SEED=${SEED}), ${ROUNDS} round(s) per backend`)

interface Run {
  readonly child: ChildProcess
  stderr: string
  readonly exited: Promise<number | null>
}

function weirRun(dir: string, backend: string, resume: boolean): Run {
  // --no-typecheck: every round starts a process; checking the same job each time proves nothing here.
  const args = [WEIR, 'run', '--no-typecheck', '--no-status', '-D', 'rest.port=0', '-p', '2',
    '-D', 'execution.checkpointing.interval=150ms', '-D', `state.checkpoints.dir=${join(dir, 'checkpoints')}`,
    '-D', `state.backend.type=${backend}`, '-D', `state.backend.incremental=${backend === 'lmdb'}`,
    '-D', 'execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION', '-D', 'restart-strategy.type=none',
    ...(resume ? ['--from-checkpoint', 'latest'] : []),
    JOB, '--out', join(dir, 'out'), '--keys', String(KEYS), '--n', String(N), '--batch', '5', '--pause', '5']
  const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
  children.add(child)
  const run: Run = { child, stderr: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) }
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (run.stderr += s))
  return run
}

async function within<T>(promise: Promise<T>, what: string, ms = STEP_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`seed ${SEED}: ${what} took longer than ${ms} ms`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

async function until(what: string, probe: () => boolean, run: Run): Promise<boolean> {
  let exited = false
  void run.exited.then(() => (exited = true))
  await within((async () => {
    while (!probe() && !exited) await new Promise((r) => setTimeout(r, 20))
  })(), what)
  return probe()
}

/** The newest completed checkpoint under the checkpoints directory (any job id), or null. */
function newestCheckpoint(dir: string): { chk: string; id: number; shared: string } | null {
  const base = join(dir, 'checkpoints')
  if (!existsSync(base)) return null
  let best: { chk: string; id: number; shared: string; t: number } | null = null
  for (const jobId of readdirSync(base)) {
    const jobDir = join(base, jobId)
    for (const name of readdirSync(jobDir)) {
      const m = /^chk-(\d+)$/.exec(name)
      const metadata = join(jobDir, name, '_metadata')
      if (!m || !existsSync(metadata)) continue
      const t = statSync(metadata).mtimeMs
      if (!best || t > best.t) best = { chk: join(jobDir, name), id: Number(m[1]), shared: join(jobDir, 'shared'), t }
    }
  }
  return best
}

/** Damages one file of the newest checkpoint; returns the file and how to undo it. */
function damage(r: SeededRandom, newest: { chk: string; id: number; shared: string }): { file: string; how: string; undo: () => void } {
  const inChk = readdirSync(newest.chk).map((n) => join(newest.chk, n))
  const metadata = inChk.filter((f) => f.endsWith('_metadata'))
  const tasks = inChk.filter((f) => f.endsWith('.state'))
  const shared = existsSync(newest.shared) ? readdirSync(newest.shared).filter((n) => checkpointIdOfSegment(n) === newest.id).map((n) => join(newest.shared, n)) : []
  const kinds = [metadata, tasks, shared].filter((k) => k.length > 0)
  const file = r.pick(r.pick(kinds))
  const original = readFileSync(file)
  // Deleting _metadata makes the checkpoint incomplete rather than damaged: 'latest' then falls
  // back to an older one, which the file sink refuses if it committed newer output and accepts
  // otherwise (test/cli/resume-committed-output.test.ts), so the outcome is not one to assert here.
  const how = r.pick(file.endsWith('_metadata') ? ['truncated', 'flipped byte'] : ['truncated', 'flipped byte', 'deleted'])
  if (how === 'deleted') rmSync(file)
  else if (how === 'truncated') writeFileSync(file, original.subarray(0, r.int(0, original.length - 1)))
  else {
    const bytes = Buffer.from(original)
    bytes[r.int(0, bytes.length - 1)]! ^= 1 << r.int(0, 7)
    writeFileSync(file, bytes)
  }
  return { file, how, undo: () => writeFileSync(file, original) }
}

for (const backend of ['hashmap', 'lmdb']) {
  test(`chaos on the ${backend} backend: random SIGKILLs and damaged checkpoints, resumes with latest, exactly once at the end`, { timeout: 30 * 60_000 }, async () => {
    const r = new SeededRandom(SEED).fork(backend)
    const dir = join(root, backend)
    let refused = 0
    let damaged = 0
    for (let round = 0; round < ROUNDS; round++) {
      const resume = newestCheckpoint(dir) !== null
      const run = weirRun(dir, backend, resume)
      // Kill before the first checkpoint of this run, or after one or more.
      const before = newestCheckpoint(dir)?.chk
      const wantCheckpoint = r.chance(0.8)
      await until(`round ${round}: the job starting`, () => /running on/.test(run.stderr), run)
      if (wantCheckpoint) await until(`round ${round}: a checkpoint of this run`, () => (newestCheckpoint(dir)?.chk ?? before) !== before, run)
      await new Promise((resolve) => setTimeout(resolve, r.int(0, 400)))
      run.child.kill('SIGKILL')
      await within(run.exited, `round ${round}: the killed run exiting`)
      assert.doesNotMatch(run.stderr, /Job '.*' failed/, `seed ${SEED}, round ${round}: the run failed before the kill:\n${run.stderr}`)
      const newest = newestCheckpoint(dir)
      if (newest === null || !r.chance(0.7)) continue
      const d = damage(r, newest)
      damaged++
      const refusal = weirRun(dir, backend, true)
      const code = await within(refusal.exited, `round ${round}: resuming from a checkpoint with a ${d.how} ${d.file}`)
      assert.notEqual(code, 0, `seed ${SEED}, round ${round}: a ${d.how} ${d.file} was not refused:\n${refusal.stderr}`)
      assert.ok(refusal.stderr.includes(d.file), `seed ${SEED}, round ${round}: the refusal does not name ${d.file}:\n${refusal.stderr}`)
      refused++
      d.undo()
    }
    const final = weirRun(dir, backend, newestCheckpoint(dir) !== null)
    const code = await within(final.exited, 'the final run to the end', 180_000)
    assert.equal(code, 0, `seed ${SEED}: the final run failed:\n${final.stderr}`)
    const check = checkSequences(join(dir, 'out'), { keys: KEYS, n: N })
    console.log(`chaos ${backend}: seed ${SEED}, ${ROUNDS} kill(s), ${damaged} damaged checkpoint(s), ${refused} refused naming the file; ${check.output.lines.length} committed lines, ok=${check.ok}`)
    assert.equal(refused, damaged)
    assert.ok(check.ok, `seed ${SEED}: ${check.report}`)
  })
}
