// A JobManager and TaskManagers as objects in this process, talking RPC over loopback (the
// TaskManagers on 127.0.0.2 and 127.0.0.3): registration, submission through REST, the
// /taskmanagers view, a job that waits for slots that arrive late, a job that fails after
// slot.request.timeout, and a lost TaskManager failing the attempt and restarting it on the
// slots registered by then.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Configuration, type RawConfig } from '../../src/config/configuration.ts'
import { JobManagerProcess } from '../../src/cluster/job-manager.ts'
import { TaskManagerProcess } from '../../src/cluster/task-manager-process.ts'
import { RestClient } from '../../src/rest/client.ts'
import { bundleJob } from '../../src/cli/bundle.ts'
import { checkSequences } from '../helpers/sequence-check.ts'
import { TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-jm-test-'))
after(() => rmSync(root, { recursive: true, force: true }))
const sequenceJob = fileURLToPath(new URL('../fixtures/recovery/sequence-job.ts', import.meta.url))
const quiet = () => {}

async function startCluster(jmConfig: RawConfig = {}) {
  const logs: string[] = []
  const jm = await JobManagerProcess.start(new Configuration({ 'jobmanager.rpc.address': '127.0.0.1', 'jobmanager.rpc.port': 0, 'rest.port': 0, ...jmConfig }), (l) => logs.push(l))
  const tms: TaskManagerProcess[] = []
  const addTaskManager = async (host: string, slots = 1) => {
    const tm = await TaskManagerProcess.start(new Configuration({ 'jobmanager.rpc.address': '127.0.0.1', 'jobmanager.rpc.port': jm.rpcAddress.port, 'taskmanager.host': host, 'taskmanager.numberOfTaskSlots': slots }), quiet)
    tms.push(tm)
    return tm
  }
  const rest = new RestClient({ host: '127.0.0.1', port: jm.rest!.port })
  const close = async () => {
    await Promise.all(tms.map((t) => t.close()))
    await jm.close()
  }
  return { jm, logs, addTaskManager, rest, close }
}

async function submit(rest: RestClient, jobFile: string, args: string[], config: RawConfig): Promise<string> {
  const artifact = await bundleJob(jobFile)
  try {
    const body = { artifact: readFileSync(fileURLToPath(artifact.url)).toString('base64'), args, config }
    return (await rest.post<{ jobid: string }>('/jobs', body)).jobid
  } finally {
    artifact.dispose()
  }
}

async function until<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>): Promise<T> {
  for (;;) {
    const v = await probe()
    if (v) return v
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('TaskManagers on two addresses register and are listed with their slots', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await startCluster()
  try {
    await c.addTaskManager('127.0.0.2', 2)
    await c.addTaskManager('127.0.0.3', 1)
    const { taskmanagers } = await c.rest.get<{ taskmanagers: Array<{ path: string; slotsNumber: number; freeSlots: number }> }>('/taskmanagers')
    assert.deepEqual(taskmanagers.map((t) => [t.path, t.slotsNumber, t.freeSlots]).sort(), [['127.0.0.2', 2, 2], ['127.0.0.3', 1, 1]])
  } finally {
    await c.close()
  }
})

function sequenceConfig(dir: string, extra: RawConfig = {}): RawConfig {
  return {
    'parallelism.default': 2, 'execution.checkpointing.interval': '50ms', 'state.checkpoints.dir': join(dir, 'checkpoints'),
    'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 3, 'restart-strategy.fixed-delay.delay': '50ms', ...extra,
  }
}

test('a job waits for slots that arrive late, runs across two TaskManagers and commits exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await startCluster()
  const dir = join(root, 'late')
  try {
    await c.addTaskManager('127.0.0.2', 1)
    const jobId = await submit(c.rest, sequenceJob, ['--out', join(dir, 'out'), '--keys', '6', '--n', '300'], sequenceConfig(dir))
    // One slot of two: the job waits.
    await until(() => c.logs.some((l) => /Waiting for 2 slot\(s\).*1 free of 1/.test(l)))
    await c.addTaskManager('127.0.0.3', 1)
    const master = c.jm.dispatcher.get(jobId)!
    const result = await master.result
    assert.equal(result.status, 'FINISHED', result.error?.message)
    const check = checkSequences(join(dir, 'out'), { keys: 6, n: 300 })
    assert.ok(check.ok, check.report)
  } finally {
    await c.close()
  }
})

test('a job that cannot get its slots within slot.request.timeout fails saying how many it has and needs', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await startCluster()
  try {
    await c.addTaskManager('127.0.0.2', 1)
    const jobId = await submit(c.rest, sequenceJob, ['--out', join(root, 'never'), '--n', '10'], { 'parallelism.default': 3, 'slot.request.timeout': '200ms' })
    const result = await c.jm.dispatcher.get(jobId)!.result
    assert.equal(result.status, 'FAILED')
    assert.equal(result.error?.code, 'WEIR_NOT_ENOUGH_SLOTS')
    assert.match(result.error!.message, /could not get 3 slot\(s\).*1 free of 1 slot\(s\) on 1 TaskManager/)
    const { jobs } = await c.rest.get<{ jobs: Array<{ id: string; status: string }> }>('/jobs')
    assert.deepEqual(jobs, [{ id: jobId, status: 'FAILED' }])
  } finally {
    await c.close()
  }
})

test('a lost TaskManager fails the attempt, which restarts on a standby and stays exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await startCluster()
  const dir = join(root, 'lost')
  try {
    await c.addTaskManager('127.0.0.2', 1)
    const doomed = await c.addTaskManager('127.0.0.3', 1)
    // The standby, registered before the job starts (slots go to TaskManagers in registration
    // order): a bounded job must not end while the standby is still starting.
    await c.addTaskManager('127.0.0.3', 1)
    const jobId = await submit(c.rest, sequenceJob, ['--out', join(dir, 'out'), '--keys', '6', '--n', '600', '--gate', 'true'], sequenceConfig(dir))
    const master = c.jm.dispatcher.get(jobId)!
    await until(() => master.coordinator.counts.completed >= 1)
    // Which TaskManager runs each subtask: slot i (subtask i of every vertex) on one of the two.
    const placement = await c.rest.get<{ vertices: Array<{ subtasks: Array<{ subtask: number; taskmanager: string }> }> }>(`/jobs/${jobId}/taskmanagers`)
    const where = placement.vertices.at(-1)!.subtasks.map((s) => s.taskmanager)
    assert.equal(new Set(where).size, 2)
    assert.ok(where.every((id) => c.jm.taskManagers.has(id)))
    await doomed.close()
    const result = await master.result
    assert.equal(result.status, 'FINISHED', result.error?.message)
    assert.ok(result.restarts >= 1)
    assert.ok(c.logs.some((l) => /TaskManager .* lost/.test(l)))
    const check = checkSequences(join(dir, 'out'), { keys: 6, n: 600 })
    assert.ok(check.ok, check.report)
  } finally {
    await c.close()
  }
})
