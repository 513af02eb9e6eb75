// REST API: GET /jobs/:id/vertices/:vid/watermarks, Flink's list of per-subtask
// currentInputWatermark metrics, on a running event-time job.

import { WAIT_MS, TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { Harness } from './harness.ts'

const EVENT_TIME = fileURLToPath(new URL('../fixtures/jobs/event-time.ts', import.meta.url))
let h: Harness | undefined

after(async () => {
  await h?.close()
})

test('GET /jobs/:id/vertices/:vid/watermarks lists each subtask\'s current input watermark', { timeout: TEST_TIMEOUT_MS }, async () => {
  h = await Harness.start()
  const job = await (async () => {
    const { startJob } = await import('../runtime/live-job.ts')
    const j = await startJob(EVENT_TIME, { args: ['--mode', 'idle'], config: { 'parallelism.default': 1 } })
    h!.jobs.push(j)
    h!.registry.register(j.execution)
    return j
  })()
  const vertices = (await h.api('GET', `/jobs/${job.execution.jobId}`)).body.vertices as Array<{ id: number; name: string }>
  const process = vertices.find((v) => v.name.includes('Process'))!
  // The quiet source goes idle; the ticking one moves the watermark on (ticks are 1000 ms apart).
  const body = await h.poll(`/jobs/${job.execution.jobId}/vertices/${process.id}/watermarks`, (b) => Number(b[0]?.value) >= 3000, WAIT_MS)
  assert.equal(body.length, 1)
  assert.equal(body[0].id, '0.currentInputWatermark')
  assert.match(body[0].value, /^\d+$/)
  const missing = await h.api('GET', `/jobs/${job.execution.jobId}/vertices/99/watermarks`)
  assert.equal(missing.status, 404)
  assert.match(JSON.stringify(missing.body), /no vertex '99'/)
})
