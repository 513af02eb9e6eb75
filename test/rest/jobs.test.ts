// REST API: the /jobs routes (list, overview, details, cancel, exceptions) and the errors every
// route shares, on real jobs running in-process; two jobs share one server, as in a session
// cluster.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { Harness } from './harness.ts'
import type { LiveJob } from '../runtime/live-job.ts'

const BOUNDED = fileURLToPath(new URL('../fixtures/jobs/sequence-sum.ts', import.meta.url))

let h: Harness
let endless: LiveJob
let bounded: LiveJob

before(async () => {
  h = await Harness.start()
  endless = await h.run()
  bounded = await h.run({}, BOUNDED, 0)
  await bounded.result
})

after(async () => {
  await h?.close()
})

test('the server listens on 127.0.0.1 by default', () => {
  assert.equal(h.server.address, '127.0.0.1')
  assert.match(h.server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
})

test('GET /jobs lists every registered job with its status', async () => {
  const r = await h.api('GET', '/jobs')
  assert.equal(r.status, 200)
  assert.match(r.headers.get('content-type')!, /^application\/json/)
  assert.deepEqual(r.body, {
    jobs: [
      { id: endless.execution.jobId, status: 'RUNNING' },
      { id: bounded.execution.jobId, status: 'FINISHED' },
    ],
  })
})

test("GET /jobs/overview has Flink's fields", async () => {
  const r = await h.api('GET', '/jobs/overview')
  assert.equal(r.status, 200)
  const [running, finished] = r.body.jobs
  assert.equal(running.jid, endless.execution.jobId)
  assert.equal(running.name, 'Endless')
  assert.equal(running.state, 'RUNNING')
  assert.equal(running['start-time'], endless.execution.startTime)
  assert.equal(running['end-time'], -1)
  assert.ok(running.duration >= 0)
  assert.equal(finished.state, 'FINISHED')
  const endTime: number = finished['end-time']
  assert.equal(endTime, bounded.execution.endTime)
  assert.equal(finished.duration, endTime - finished['start-time'])
})

test('GET /jobs/:id shows the vertices, metrics and restarts', async () => {
  const r = await h.api('GET', `/jobs/${endless.execution.jobId}`)
  assert.equal(r.status, 200)
  const b = r.body
  assert.equal(b.jid, endless.execution.jobId)
  assert.equal(b.name, 'Endless')
  assert.equal(b.state, 'RUNNING')
  assert.equal(b['end-time'], -1)
  assert.ok(Math.abs(b.now - Date.now()) < 5000)
  assert.equal(b.duration, b.now - b['start-time'])
  assert.deepEqual(b.vertices.map((v: { name: string; parallelism: number }) => [v.name, v.parallelism]), [['Ticks', 1], ['Map -> Print to Std. Out', 2]])
  for (const v of b.vertices) assert.equal(typeof v.id, 'number')
  assert.ok(b.metrics['records-in'] >= 2, JSON.stringify(b.metrics))
  assert.ok(b.metrics['records-out'] >= 0)
  assert.equal(b.restarts, 0)

  const later = await h.poll(`/jobs/${endless.execution.jobId}`, (j) => j.metrics['records-in'] > b.metrics['records-in'])
  assert.ok(later.metrics['records-in'] > b.metrics['records-in'])
})

test('GET /jobs/:id/exceptions: no root exception for a job that did not fail', async () => {
  const r = await h.api('GET', `/jobs/${bounded.execution.jobId}/exceptions`)
  assert.equal(r.status, 200)
  assert.equal(r.body['root-exception'], null)
})

test('an unknown job id is 404 with a message', async () => {
  const unknown = 'f'.repeat(32)
  for (const path of [`/jobs/${unknown}`, `/jobs/${unknown}/checkpoints`, `/jobs/${unknown}/checkpoints/config`, `/jobs/${unknown}/savepoints/${unknown}`]) {
    const r = await h.api('GET', path)
    assert.equal(r.status, 404, path)
    assert.match(r.body.errors[0], new RegExp(`no job with id '${unknown}'; GET /jobs lists the jobs`))
  }
  for (const [method, path] of [['PATCH', `/jobs/${unknown}`], ['POST', `/jobs/${unknown}/savepoints`], ['POST', `/jobs/${unknown}/stop`], ['POST', `/jobs/${unknown}/checkpoints`]] as const) {
    const r = await h.api(method, path, {})
    assert.equal(r.status, 404, `${method} ${path}`)
  }
  const malformed = await h.api('GET', '/jobs/not-a-job')
  assert.equal(malformed.status, 404)
  assert.match(malformed.body.errors[0], /32 hexadecimal characters/)
})

test('an unknown route is 404 and a wrong method 405, both as { errors }', async () => {
  const r = await h.api('GET', '/nothing/here')
  assert.equal(r.status, 404)
  assert.deepEqual(Object.keys(r.body), ['errors'])
  const m = await h.api('DELETE', `/jobs/${endless.execution.jobId}`)
  assert.equal(m.status, 405)
  assert.equal(m.headers.get('allow'), 'GET, PATCH')
  assert.match(m.body.errors[0], /DELETE is not supported/)
  const put = await h.api('PUT', '/jobs')
  assert.equal(put.status, 405)
})

test('PATCH /jobs/:id with another mode than cancel is 400', async () => {
  const r = await h.api('PATCH', `/jobs/${endless.execution.jobId}?mode=stop`)
  assert.equal(r.status, 400)
  assert.match(r.body.errors[0], /mode=cancel.*POST \/jobs\/:jobid\/stop/)
})

test('PATCH on a finished job is 409', async () => {
  const r = await h.api('PATCH', `/jobs/${bounded.execution.jobId}`)
  assert.equal(r.status, 409)
  assert.match(r.body.errors[0], /already finished/)
})

test('PATCH /jobs/:id cancels: 202, CANCELLING, then CANCELED; a second cancel is accepted', async () => {
  const id = endless.execution.jobId
  const r = await h.api('PATCH', `/jobs/${id}?mode=cancel`)
  assert.equal(r.status, 202)
  assert.deepEqual(r.body, {})
  const first = await h.api('GET', `/jobs/${id}`)
  assert.ok(['CANCELLING', 'CANCELED'].includes(first.body.state), first.body.state)
  const done = await h.poll(`/jobs/${id}`, (j) => j.state === 'CANCELED')
  assert.notEqual(done['end-time'], -1)
  assert.equal((await endless.result).status, 'CANCELED')
  assert.equal((await h.api('PATCH', `/jobs/${id}`)).status, 202)
  const sp = await h.api('POST', `/jobs/${id}/savepoints`, { 'target-directory': '/tmp' })
  assert.equal(sp.status, 409)
  assert.match(sp.body.errors[0], /CANCELED; a savepoint needs a running job/)
})
