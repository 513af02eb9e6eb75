// REST API beyond jobs and checkpoints: the cluster (/overview, /config, /taskmanagers), a job's
// graph, plan, configuration and exceptions, its vertices with subtasks, back-pressure as Flink
// 1.13+ computes it, the metric routes, and the per-subtask checkpoint details with the
// breakdown of where a checkpoint's time went. On real jobs.

import { WAIT_MS } from '../helpers/deadlines.ts'
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { Harness } from './harness.ts'
import type { LiveJob } from '../runtime/live-job.ts'

const USER_METRICS = fileURLToPath(new URL('../fixtures/jobs/user-metrics.ts', import.meta.url))
const SLOW_SINK = fileURLToPath(new URL('../fixtures/jobs/slow-sink.ts', import.meta.url))

let h: Harness
let metricsJob: LiveJob

before(async () => {
  h = await Harness.start()
  metricsJob = await h.run({ 'execution.checkpointing.interval': '100ms', 'web.checkpoints.history': 3 }, USER_METRICS, 0)
})

after(async () => {
  await h?.close()
})

test('GET /overview, /config and /taskmanagers describe the embedded cluster', async () => {
  const o = await h.api('GET', '/overview')
  assert.equal(o.status, 200)
  assert.equal(o.body.taskmanagers, 1)
  assert.equal(o.body['slots-total'], metricsJob.execution.slots)
  assert.ok(o.body['jobs-running'] >= 1)
  assert.equal(typeof o.body['flink-version'], 'string')
  const c = await h.api('GET', '/config')
  assert.equal(c.body['refresh-interval'], 3000)
  assert.equal(c.body.features['web-cancel'], true)
  const tms = await h.api('GET', '/taskmanagers')
  assert.equal(tms.body.taskmanagers.length, 1)
  const tm = tms.body.taskmanagers[0]
  assert.ok(tm.hardware.cpuCores >= 1)
  const one = await h.api('GET', `/taskmanagers/${encodeURIComponent(tm.id)}`)
  assert.equal(one.status, 200)
  assert.ok(one.body.metrics.heapUsed > 0)
  const missing = await h.api('GET', '/taskmanagers/nope')
  assert.equal(missing.status, 404)
  assert.match(missing.body.errors[0], /no TaskManager with id 'nope'/)
})

test('GET /jobs/:id has vertices with status, times, task counts and I/O metrics; /plan has the edges', async () => {
  const id = metricsJob.execution.jobId
  // Metrics are samples: the map's first read records may be reported before the source's first
  // written ones (a slot reports its first records at once), so wait for both.
  const b = await h.poll(`/jobs/${id}`, (j) => j.vertices.every((v: any) => v.status === 'RUNNING') && j.vertices[1].metrics['read-records'] > 0 && j.vertices[0].metrics['write-records'] > 0)
  assert.equal(b.state, 'RUNNING')
  assert.equal(b['job-type'], 'STREAMING')
  assert.ok(b.timestamps.RUNNING > 0)
  assert.equal(b.vertices.length, 2)
  const [source, map] = b.vertices
  assert.equal(source.name, 'Ticks')
  assert.equal(source.tasks.RUNNING, 1)
  assert.ok(source.metrics['write-records'] > 0)
  assert.equal(source.metrics['read-records'], 0, 'a source reads no records from channels, as in Flink')
  assert.ok(map.duration >= 0 && map['start-time'] > 0)
  const plan = await h.api('GET', `/jobs/${id}/plan`)
  const node = plan.body.plan.nodes.find((n: any) => n.id === map.id)
  assert.deepEqual(node.inputs.map((i: any) => [i.id, i.ship_strategy]), [[source.id, 'HASH']])
  assert.match(node.description, /Counting Map/)
  const config = await h.api('GET', `/jobs/${id}/config`)
  assert.equal(config.body['execution-config']['user-config']['execution.checkpointing.interval'], '100ms')
})

test('GET /jobs/:id/vertices/:vid lists subtasks; unknown and malformed vertex ids are 404 and 400', async () => {
  const id = metricsJob.execution.jobId
  // Two keys (odd and even ticks): both may land on one subtask.
  const b = await h.poll(`/jobs/${id}/vertices/1`, (v) => v.subtasks.some((s: any) => s.metrics['read-bytes'] > 0))
  assert.equal(b.subtasks.length, 2)
  assert.deepEqual(b.subtasks.map((s: any) => s.status), ['RUNNING', 'RUNNING'])
  assert.ok(b.subtasks.every((s: any) => typeof s['taskmanager-id'] === 'string'))
  const total = b.subtasks.reduce((n: number, s: any) => n + s.metrics['read-records'], 0)
  assert.ok(total > 0)
  const missing = await h.api('GET', `/jobs/${id}/vertices/9`)
  assert.equal(missing.status, 404)
  assert.match(missing.body.errors[0], /has no vertex 9/)
  const bad = await h.api('GET', `/jobs/${id}/vertices/abc`)
  assert.equal(bad.status, 400)
  assert.match(bad.body.errors[0], /'abc' is not a vertex id/)
})

test('metric routes: job metrics by name, subtask-prefixed vertex metrics with user metrics, aggregation; unknown names are a 400', async () => {
  const id = metricsJob.execution.jobId
  const list = await h.api('GET', `/jobs/${id}/metrics`)
  assert.ok(list.body.some((m: any) => m.id === 'numberOfCompletedCheckpoints'))
  const got = await h.poll(`/jobs/${id}/metrics?get=numberOfCompletedCheckpoints,numRestarts`, (ms) => Number(ms[0].value) >= 1)
  assert.deepEqual(got.map((m: any) => m.id), ['numberOfCompletedCheckpoints', 'numRestarts'])
  assert.equal(got[1].value, '0')
  const bad = await h.api('GET', `/jobs/${id}/metrics?get=nope`)
  assert.equal(bad.status, 400)
  assert.match(bad.body.errors[0], /unknown metric\(s\) in parameter 'get': nope/)

  const vm = await h.poll(`/jobs/${id}/vertices/1/metrics`, (ms) => ms.some((m: any) => m.id === '0.Counting Map.seen'))
  const ids = vm.map((m: any) => m.id)
  for (const name of ['0.numRecordsIn', '1.busyTimeMsPerSecond', '0.Counting Map.lastValue', '0.Counting Map.ticksPerSecond', '0.Counting Map.valueHistogram_p99']) {
    assert.ok(ids.includes(name), `${name} in ${ids.join(', ')}`)
  }
  const seen = await h.poll(`/jobs/${id}/vertices/1/subtasks/metrics?get=Counting Map.seen&agg=sum`, (ms) => ms[0].sum > 0)
  assert.deepEqual(Object.keys(seen[0]).sort(), ['id', 'sum'])
  const badAgg = await h.api('GET', `/jobs/${id}/vertices/1/subtasks/metrics?get=numRecordsIn&agg=median`)
  assert.equal(badAgg.status, 400)
  assert.match(badAgg.body.errors[0], /parameter 'agg'/)
})

test('checkpoint details per vertex and subtask, the breakdown, and a bounded history with counts over all', async () => {
  const id = metricsJob.execution.jobId
  await h.poll(`/jobs/${id}/checkpoints`, (s) => s.counts.completed >= 5)
  // The history holds 3 checkpoints and the job takes them quickly: on a loaded machine the
  // latest may leave the history between two requests. Then a newer one completed; read again.
  let stats: any
  let latest: any
  let details: Awaited<ReturnType<typeof h.api>>
  let sub: Awaited<ReturnType<typeof h.api>>
  for (;;) {
    stats = (await h.api('GET', `/jobs/${id}/checkpoints`)).body
    latest = stats.latest.completed
    details = await h.api('GET', `/jobs/${id}/checkpoints/details/${latest.id}`)
    sub = await h.api('GET', `/jobs/${id}/checkpoints/details/${latest.id}/subtasks/1`)
    if (details.status !== 404 && sub.status !== 404) break
    const now = (await h.api('GET', `/jobs/${id}/checkpoints`)).body
    assert.ok(now.latest.completed.id > latest.id + 2, `checkpoint ${latest.id} is out of the history although fewer than 3 newer ones completed`)
  }
  assert.ok(stats.history.length <= 3, 'web.checkpoints.history bounds the history')
  assert.ok(stats.counts.completed >= 5, 'counts cover every checkpoint')
  assert.ok(stats.summary.end_to_end_duration.p99 >= stats.summary.end_to_end_duration.p50)
  assert.ok('checkpointed_size' in stats.summary && 'persisted_data' in stats.summary)
  assert.ok(latest.checkpointed_size > 0 && latest.state_size >= latest.checkpointed_size)
  assert.equal(details.status, 200)
  assert.deepEqual(Object.keys(details.body.tasks).sort(), ['0', '1'])
  const bd = details.body.breakdown
  assert.equal(bd.vertices.length, 2)
  assert.equal(typeof bd.sentence, 'string')
  assert.match(bd.sentence, new RegExp(`^Checkpoint ${latest.id} took`))
  assert.equal(sub.status, 200)
  assert.equal(sub.body.subtasks.length, 2)
  for (const s of sub.body.subtasks) {
    assert.equal(s.status, 'completed')
    assert.ok(s.ack_timestamp >= latest.trigger_timestamp)
    assert.ok(s.end_to_end_duration >= 0 && s.start_delay >= 0 && s.alignment.duration >= 0)
    assert.equal(typeof s.checkpoint.sync, 'number')
    assert.equal(s.unaligned_checkpoint, false)
  }
  assert.ok(sub.body.summary.end_to_end_duration.max >= sub.body.summary.end_to_end_duration.min)
  const old = await h.api('GET', `/jobs/${id}/checkpoints/details/1`)
  assert.equal(old.status, 404)
  assert.match(old.body.errors[0], /web\.checkpoints\.history/)
})

test('back-pressure: a fast source before a slow sink subtask in another slot is back-pressured, that sink busy (ratios from busy / idle / back-pressured time)', async () => {
  const job = await h.run({ 'parallelism.default': 2 }, SLOW_SINK, 0, ['--source-parallelism', '1', '--slow-subtask', '1', '--micros', '20'])
  const id = job.execution.jobId
  const source = await h.poll(`/jobs/${id}/vertices/0/backpressure`, (b) => b.backpressureLevel === 'high', WAIT_MS)
  assert.equal(source.status, 'ok')
  const s = source.subtasks[0]
  assert.equal(s.backpressureLevel, 'high')
  assert.ok(s.ratio > 0.5)
  // The three ratios split the task's own time (test/metrics/job-metric-store.test.ts): they add
  // up to the whole, give or take the rounding of each to 3 digits.
  const total = s.ratio + s.idleRatio + s.busyRatio
  assert.ok(Math.abs(total - 1) <= 0.005, JSON.stringify(s))
  const sink = await h.poll(`/jobs/${id}/vertices/1/backpressure`, (b) => b.subtasks[1].busyRatio > 0.5, WAIT_MS)
  assert.equal(sink.backpressureLevel, 'ok', 'nothing holds the sink back')
  await job.stop()
})

test('exceptions: every failed attempt is in the history, newest first, with the task that failed', async () => {
  const thrower = fileURLToPath(new URL('../fixtures/jobs/throwing-map.ts', import.meta.url))
  const job = await h.run({ 'parallelism.default': 1, 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 1, 'restart-strategy.fixed-delay.delay': '10ms' }, thrower, 0)
  await job.result
  const r = await h.api('GET', `/jobs/${job.execution.jobId}/exceptions`)
  assert.equal(r.status, 200)
  assert.match(r.body['root-exception'], /boom at 42/)
  const entries = r.body.exceptionHistory.entries
  assert.equal(entries.length, 2, 'the first attempt and the restart failed')
  assert.ok(entries[0].timestamp >= entries[1].timestamp, 'newest first')
  assert.match(entries[0].taskName, /^Exploder \(1\/1\)#1$/)
  assert.match(entries[1].taskName, /#0$/)
  assert.match(entries[0].stacktrace, /boom at 42/)
  const bad = await h.api('GET', `/jobs/${job.execution.jobId}/exceptions?maxExceptions=x`)
  assert.equal(bad.status, 400)
})
