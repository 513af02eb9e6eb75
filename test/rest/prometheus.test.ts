// /metrics in Prometheus' text format, scraped by a real Prometheus server on loopback: the
// checkpoint count Prometheus stores is the one the REST API reports, and task and user metrics
// arrive with their scopes as labels.

import { WAIT_MS } from '../helpers/deadlines.ts'
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { Harness } from './harness.ts'
import { PrometheusServer } from '../helpers/prometheus-server.ts'
import type { LiveJob } from '../runtime/live-job.ts'

const USER_METRICS = fileURLToPath(new URL('../fixtures/jobs/user-metrics.ts', import.meta.url))

let h: Harness
let job: LiveJob
let prometheus: PrometheusServer | null = null

before(async () => {
  h = await Harness.start()
  job = await h.run({ 'execution.checkpointing.interval': '100ms' }, USER_METRICS, 0)
})

after(async () => {
  await prometheus?.stop()
  await h?.close()
})

test('GET /metrics: Flink\'s names under weir_, scopes as labels, in the text format', async () => {
  const id = job.execution.jobId
  await h.poll(`/jobs/${id}/checkpoints`, (s) => s.counts.completed >= 1)
  // Until both map subtasks reported and the user counter counted something.
  let text = ''
  let res: Response
  const deadline = Date.now() + WAIT_MS
  do {
    if (Date.now() > deadline) throw new Error(`no counted user metric on /metrics: ${text}`)
    await new Promise((r) => setTimeout(r, 50))
    res = await fetch(`${h.server.url}/metrics`)
    assert.equal(res.status, 200)
    text = await res.text()
  } while (!/^weir_taskmanager_job_task_operator_seen\{.*operator_name="Counting Map"\} [1-9]/m.test(text) || (text.match(/^weir_taskmanager_job_task_numRecordsIn\{.*task_id="1"/gm) ?? []).length < 2)
  assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/)
  assert.match(text, new RegExp(`^weir_jobmanager_job_numberOfCompletedCheckpoints\\{job_id="${id}",job_name="UserMetrics"\\} [1-9]`, 'm'))
  for (const name of ['lastCheckpointDuration', 'lastCheckpointSize', 'lastCheckpointFullSize', 'numRestarts', 'uptime', 'downtime', 'totalNumberOfCheckpoints']) {
    assert.match(text, new RegExp(`^weir_jobmanager_job_${name}\\{`, 'm'), name)
  }
  for (const name of ['numRecordsIn', 'numRecordsOut', 'numRecordsInPerSecond', 'busyTimeMsPerSecond', 'backPressuredTimeMsPerSecond', 'idleTimeMsPerSecond', 'checkpointAlignmentTime', 'checkpointStartDelayNanos', 'numBytesIn']) {
    assert.match(text, new RegExp(`^weir_taskmanager_job_task_${name}\\{job_id="${id}",job_name="UserMetrics",task_id="1",task_name="Counting Map -> Sink",subtask_index="[01]",tm_id="[^"]+"\\} `, 'm'), name)
  }
  assert.match(text, /^weir_taskmanager_job_task_operator_seen\{.*operator_name="Counting Map"\} [1-9]/m)
  assert.match(text, /^weir_taskmanager_job_task_operator_valueHistogram\{.*quantile="0\.99"\} /m)
  assert.match(text, /^weir_taskmanager_job_task_lastCheckpointFullSize\{/m)
})

test('a real Prometheus server scrapes the job and stores the checkpoint count the REST API reports', async () => {
  const id = job.execution.jobId
  const target = new URL(h.server.url).host
  prometheus = await PrometheusServer.start([target])
  const query = `weir_jobmanager_job_numberOfCompletedCheckpoints{job_id="${id}"}`
  const deadline = Date.now() + WAIT_MS
  let stored = 0
  // Wait until Prometheus holds a count of at least 3, then compare with the REST API's count
  // read just before and after the query (the job keeps checkpointing in between).
  for (;;) {
    const before = (await h.api('GET', `/jobs/${id}/checkpoints`)).body.counts.completed
    const result = await prometheus.query(query)
    const after = (await h.api('GET', `/jobs/${id}/checkpoints`)).body.counts.completed
    if (result.length === 1) {
      stored = Number(result[0]!.value[1])
      assert.ok(stored <= after, `Prometheus has ${stored}, the REST API ${after}`)
      if (stored >= 3) {
        assert.ok(stored <= before || stored <= after)
        break
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`Prometheus never stored 3 checkpoints: ${JSON.stringify(result)}; targets ${JSON.stringify(await prometheus.targets())}; log ${prometheus.output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  // Scrapes succeeded (Prometheus stored the counts); the latest one may still time out on a
  // loaded machine, so its health is not asserted, only that it scrapes the job's /metrics.
  const targets = await prometheus.targets()
  assert.equal(targets[0]!.scrapeUrl, `http://${target}/metrics`, JSON.stringify(targets))
  // Task and user metrics arrive with the slots' reports: wait until Prometheus scraped some.
  const until = Date.now() + WAIT_MS
  const eventually = async (promql: string) => {
    for (;;) {
      const r = await prometheus!.query(promql)
      if (r.length > 0 || Date.now() > until) return r
      await new Promise((done) => setTimeout(done, 100))
    }
  }
  const seen = await eventually(`sum(weir_taskmanager_job_task_operator_seen{job_id="${id}",operator_name="Counting Map"}) > 0`)
  assert.equal(seen.length, 1, 'the user counter, summed over subtasks')
  assert.ok(Number(seen[0]!.value[1]) > 0)
  const busy = await eventually(`weir_taskmanager_job_task_busyTimeMsPerSecond{job_id="${id}",task_name="Ticks"}`)
  assert.equal(busy.length, 1)
  assert.equal(busy[0]!.metric['subtask_index'], '0')
})
