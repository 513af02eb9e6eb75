// REST API: checkpoint statistics, configuration, details and triggering, on real jobs: one
// with periodic checkpoints to a directory, one without periodic checkpoints.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Harness } from './harness.ts'
import type { LiveJob } from '../runtime/live-job.ts'

let h: Harness
let dir: string
let periodic: LiveJob
let manual: LiveJob

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weir-rest-ckpt-'))
  h = await Harness.start()
  periodic = await h.run({
    'execution.checkpointing.interval': '50ms',
    'state.checkpoints.dir': dir,
    'state.checkpoints.num-retained': 2,
    'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
    'execution.checkpointing.tolerable-failed-checkpoints': 3,
    'execution.checkpointing.min-pause': '10ms',
  })
  manual = await h.run()
})

after(async () => {
  await h?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

test('GET /jobs/:id/checkpoints: counts, latest, history (newest first) and summary', async () => {
  const id = periodic.execution.jobId
  const b = await h.poll(`/jobs/${id}/checkpoints`, (s) => s.counts.completed >= 3)
  assert.equal(b.counts.restored, 0)
  assert.ok(b.counts.total >= b.counts.completed)
  assert.equal(b.counts.total, b.counts.completed + b.counts.failed + b.counts.in_progress)
  const ids = b.history.map((c: { id: number }) => c.id)
  assert.deepEqual(ids, [...ids].sort((x, y) => y - x), 'newest first')

  const latest = b.latest.completed
  assert.ok(latest, 'a latest completed checkpoint')
  assert.equal(latest.status, 'COMPLETED')
  assert.equal(latest.is_savepoint, false)
  assert.ok(latest.external_path.startsWith(dir), latest.external_path)
  assert.ok(existsSync(join(latest.external_path, '_metadata')))
  assert.equal(latest.num_subtasks, 3) // the source, and the chained map and print at parallelism 2
  assert.equal(latest.num_acknowledged_subtasks, 3)
  assert.ok(latest.state_size > 0)
  assert.ok(latest.trigger_timestamp <= latest.latest_ack_timestamp)
  assert.equal(latest.discarded, false)
  assert.equal(latest.failure_message, null)
  for (const key of ['id', 'status', 'is_savepoint', 'trigger_timestamp', 'latest_ack_timestamp', 'state_size', 'end_to_end_duration', 'num_subtasks', 'num_acknowledged_subtasks', 'external_path', 'failure_message']) {
    assert.ok(key in latest, `latest checkpoint has ${key}`)
  }
  assert.equal(b.latest.savepoint, null)
  assert.equal(b.latest.restored, null)

  // Two are retained; older completed ones were discarded.
  const completed = b.history.filter((c: { status: string }) => c.status === 'COMPLETED')
  assert.ok(completed.length >= 3)
  assert.ok(completed.slice(2).every((c: { discarded: boolean }) => c.discarded), 'older checkpoints are discarded')

  for (const metric of ['state_size', 'end_to_end_duration']) {
    const s = b.summary[metric]
    assert.ok(s.min <= s.avg && s.avg <= s.max, `${metric}: ${JSON.stringify(s)}`)
  }
})

test('GET /jobs/:id/checkpoints/config reflects the configuration', async () => {
  const r = await h.api('GET', `/jobs/${periodic.execution.jobId}/checkpoints/config`)
  assert.equal(r.status, 200)
  assert.deepEqual(r.body, {
    mode: 'exactly_once',
    interval: 50,
    timeout: 600_000,
    min_pause: 10,
    max_concurrent: 1,
    externalization: { enabled: true, delete_on_cancellation: false },
    unaligned_checkpoints: false,
    aligned_checkpoint_timeout: 0,
    tolerable_failed_checkpoints: 3,
    state_backend: 'hashmap',
    checkpoint_storage: 'filesystem',
    checkpoints_dir: dir,
    num_retained: 2,
    savepoints_dir: null,
  })
  const m = await h.api('GET', `/jobs/${manual.execution.jobId}/checkpoints/config`)
  assert.equal(m.body.interval, null, 'periodic checkpoints are off')
  assert.equal(m.body.checkpoint_storage, 'jobmanager')
  assert.deepEqual(m.body.externalization, { enabled: false, delete_on_cancellation: true })
})

test('POST /jobs/:id/checkpoints triggers a checkpoint; its status is under /checkpoints/:triggerid', async () => {
  const id = manual.execution.jobId
  assert.equal((await h.api('GET', `/jobs/${id}/checkpoints`)).body.counts.total, 0)
  const r = await h.api('POST', `/jobs/${id}/checkpoints`)
  assert.equal(r.status, 202)
  assert.match(r.body['request-id'], /^[0-9a-f]{32}$/)
  assert.equal(r.body['checkpoint-id'], 1)
  const status = await h.poll(`/jobs/${id}/checkpoints/${r.body['request-id']}`, (s) => s.status.id === 'COMPLETED')
  assert.deepEqual(status.operation, { checkpointId: 1 })

  const stats = (await h.api('GET', `/jobs/${id}/checkpoints`)).body
  assert.equal(stats.counts.completed, 1)
  assert.equal(stats.latest.completed.id, 1)
  assert.equal(stats.latest.completed.external_path, null, 'jobmanager storage has no path')

  const details = await h.api('GET', `/jobs/${id}/checkpoints/details/1`)
  assert.equal(details.status, 200)
  assert.equal(details.body.id, 1)
  assert.equal(details.body.status, 'COMPLETED')
})

test('a client triggerId makes a checkpoint trigger idempotent', async () => {
  const id = manual.execution.jobId
  const triggerId = 'a'.repeat(32)
  const first = await h.api('POST', `/jobs/${id}/checkpoints`, { triggerId })
  const second = await h.api('POST', `/jobs/${id}/checkpoints`, { triggerId })
  assert.equal(first.status, 202)
  assert.equal(first.body['request-id'], triggerId)
  assert.deepEqual(second.body, first.body)
  const bad = await h.api('POST', `/jobs/${id}/checkpoints`, { triggerId: 'xyz' })
  assert.equal(bad.status, 400)
  assert.match(bad.body.errors[0], /triggerId 'xyz' is not valid/)
})

test('checkpoint errors: unknown trigger id, unknown or malformed checkpoint id, bad body', async () => {
  const id = manual.execution.jobId
  const unknown = await h.api('GET', `/jobs/${id}/checkpoints/${'0'.repeat(32)}`)
  assert.equal(unknown.status, 404)
  assert.match(unknown.body.errors[0], /no checkpoint operation with trigger id/)
  assert.equal((await h.api('GET', `/jobs/${id}/checkpoints/details/99999`)).status, 404)
  const malformed = await h.api('GET', `/jobs/${id}/checkpoints/details/abc`)
  assert.equal(malformed.status, 400)
  assert.match(malformed.body.errors[0], /not a checkpoint id/)
  const type = await h.api('POST', `/jobs/${id}/checkpoints`, { checkpointType: 'INCREMENTAL' })
  assert.equal(type.status, 400)
  assert.match(type.body.errors[0], /checkpointType 'INCREMENTAL' is not supported/)
  const json = await h.api('POST', `/jobs/${id}/checkpoints`, '{"checkpointType": ')
  assert.equal(json.status, 400)
  assert.match(json.body.errors[0], /not valid JSON/)
})

test('POST /jobs/:id/checkpoints on a job that ended is 409', async () => {
  const job = await h.run()
  await job.stop()
  const r = await h.api('POST', `/jobs/${job.execution.jobId}/checkpoints`)
  assert.equal(r.status, 409)
  assert.match(r.body.errors[0], /is CANCELED; a checkpoint needs a running job/)
})
