// REST API: savepoints (with and without cancelling the job), stop with savepoint (with and
// without drain), their status route, and the request errors, on real jobs.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Harness } from './harness.ts'
import { WAIT_MS } from '../helpers/deadlines.ts'

let h: Harness
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weir-rest-sp-'))
  h = await Harness.start()
})

after(async () => {
  await h?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const status = (jobId: string, triggerId: string) => h.poll(`/jobs/${jobId}/savepoints/${triggerId}`, (s) => s.status.id === 'COMPLETED')

test('POST /jobs/:id/savepoints takes a savepoint; the job keeps running', async () => {
  const job = await h.run({ 'state.savepoints.dir': dir })
  const id = job.execution.jobId
  const target = join(dir, 'plain')
  const r = await h.api('POST', `/jobs/${id}/savepoints`, { 'target-directory': target })
  assert.equal(r.status, 202)
  const triggerId = r.body['request-id']
  assert.match(triggerId, /^[0-9a-f]{32}$/)
  const s = await status(id, triggerId)
  assert.deepEqual(Object.keys(s.operation), ['location'])
  assert.equal(dirname(s.operation.location), target)
  assert.ok(existsSync(join(s.operation.location, '_metadata')))
  assert.equal((await h.api('GET', `/jobs/${id}`)).body.state, 'RUNNING')

  const stats = (await h.api('GET', `/jobs/${id}/checkpoints`)).body
  assert.equal(stats.latest.savepoint.external_path, s.operation.location)
  assert.equal(stats.latest.savepoint.is_savepoint, true)
  assert.equal(stats.latest.savepoint.checkpoint_type, 'SAVEPOINT')

  const unknown = await h.api('GET', `/jobs/${id}/savepoints/${'0'.repeat(32)}`)
  assert.equal(unknown.status, 404)
  assert.match(unknown.body.errors[0], /no savepoint or stop operation with trigger id/)
})

test('savepoint request errors: no directory, bad JSON, wrong types, unknown fields', async () => {
  const job = await h.run()
  const path = `/jobs/${job.execution.jobId}/savepoints`
  const none = await h.api('POST', path)
  assert.equal(none.status, 400)
  assert.match(none.body.errors[0], /no savepoint directory/)
  assert.match(none.body.errors[0], /'target-directory'/)
  assert.match(none.body.errors[0], /execution\.checkpointing\.savepoint-dir/)
  const json = await h.api('POST', path, '{"target-directory": ')
  assert.equal(json.status, 400)
  assert.match(json.body.errors[0], /^request body is not valid JSON/)
  assert.equal((await h.api('POST', path, '[1]')).status, 400)
  const type = await h.api('POST', path, { 'target-directory': dir, 'cancel-job': 'yes' })
  assert.equal(type.status, 400)
  assert.match(type.body.errors[0], /'cancel-job' must be true or false/)
  const field = await h.api('POST', path, { targetDirectory: dir })
  assert.equal(field.status, 400)
  assert.match(field.body.errors[0], /unknown field 'targetDirectory'.*did you mean 'target-directory'\?/)
  const stopField = await h.api('POST', `/jobs/${job.execution.jobId}/stop`, { 'target-directory': dir })
  assert.equal(stopField.status, 400)
  assert.match(stopField.body.errors[0], /did you mean 'targetDirectory'\?/)
  const format = await h.api('POST', path, { 'target-directory': dir, formatType: 'NATIVE' })
  assert.equal(format.status, 400)
  assert.equal((await h.api('GET', `/jobs/${job.execution.jobId}`)).body.state, 'RUNNING', 'nothing happened to the job')
  assert.equal(job.execution.coordinator.counts.triggered, 0)
})

test('a savepoint that fails completes with a failure cause; the job keeps running', async () => {
  const job = await h.run({ 'state.savepoints.dir': dir })
  const id = job.execution.jobId
  const file = join(dir, 'a-file')
  writeFileSync(file, 'not a directory')
  const r = await h.api('POST', `/jobs/${id}/savepoints`, { 'target-directory': join(file, 'below') })
  assert.equal(r.status, 202)
  const s = await status(id, r.body['request-id'])
  assert.ok(s.operation['failure-cause'], JSON.stringify(s))
  assert.match(s.operation['failure-cause'].message, /savepoint failed/)
  assert.equal((await h.api('GET', `/jobs/${id}`)).body.state, 'RUNNING')
})

test('cancel-job: the savepoint completes, then the job is CANCELED; state.savepoints.dir is the default', async () => {
  const target = join(dir, 'configured')
  const job = await h.run({ 'state.savepoints.dir': target })
  const id = job.execution.jobId
  const triggerId = 'b'.repeat(32)
  const r = await h.api('POST', `/jobs/${id}/savepoints`, { 'cancel-job': true, triggerId })
  assert.equal(r.status, 202)
  assert.equal(r.body['request-id'], triggerId)
  // The same triggerId again is the same operation, not a second savepoint.
  assert.deepEqual((await h.api('POST', `/jobs/${id}/savepoints`, { 'cancel-job': true, triggerId })).body, r.body)
  const s = await status(id, triggerId)
  assert.equal(dirname(s.operation.location), target)
  assert.equal(readdirSync(target).length, 1)
  await h.poll(`/jobs/${id}`, (j) => j.state === 'CANCELED')
  assert.equal((await job.result).status, 'CANCELED')
})

test('POST /jobs/:id/stop: savepoint, then FINISHED; a second stop is 409', async () => {
  const job = await h.run({ 'state.savepoints.dir': dir })
  const id = job.execution.jobId
  const r = await h.api('POST', `/jobs/${id}/stop`, { targetDirectory: join(dir, 'stop'), drain: false })
  assert.equal(r.status, 202)
  const again = await h.api('POST', `/jobs/${id}/stop`, { targetDirectory: join(dir, 'stop') })
  assert.equal(again.status, 409)
  assert.match(again.body.errors[0], /being stopped with a savepoint|FINISHED/)
  const s = await status(id, r.body['request-id'])
  assert.ok(existsSync(join(s.operation.location, '_metadata')))
  assert.equal((await job.result).status, 'FINISHED')
  const after = await h.api('POST', `/jobs/${id}/stop`, { targetDirectory: join(dir, 'stop') })
  assert.equal(after.status, 409)
  assert.match(after.body.errors[0], /FINISHED; stop with savepoint needs a running job/)
})

test('POST /jobs/:id/stop with drain', async () => {
  const job = await h.run({ 'state.savepoints.dir': dir })
  const id = job.execution.jobId
  const r = await h.api('POST', `/jobs/${id}/stop`, { targetDirectory: join(dir, 'drain'), drain: true })
  assert.equal(r.status, 202)
  const s = await status(id, r.body['request-id'])
  assert.ok(existsSync(join(s.operation.location, '_metadata')))
  assert.equal((await job.result).status, 'FINISHED')
})

test('close() waits, up to its grace, for a client to read the outcome it asked for', async () => {
  const h2 = await Harness.start()
  try {
    const job = await h2.run()
    const r = await h2.api('PATCH', `/jobs/${job.execution.jobId}`)
    assert.equal(r.status, 202)
    await job.result
    assert.equal(h2.registry.hasUnobservedOutcomes(), true)
    await h2.poll(`/jobs/${job.execution.jobId}`, (j) => j.state === 'CANCELED')
    assert.equal(h2.registry.hasUnobservedOutcomes(), false)

    const job2 = await h2.run({ 'state.savepoints.dir': dir })
    const sp = await h2.api('POST', `/jobs/${job2.execution.jobId}/savepoints`, { 'target-directory': join(dir, 'grace'), 'cancel-job': true })
    await job2.result
    // A grace far longer than the test may take: close() must end once the outcome was read, not at the grace.
    const closing = h2.server.close({ graceMs: 3_600_000 })
    await new Promise((r) => setTimeout(r, 100))
    const s = await h2.poll(`/jobs/${job2.execution.jobId}/savepoints/${sp.body['request-id']}`, (b) => b.status.id === 'COMPLETED')
    assert.ok(s.operation.location)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([closing, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the server did not close once the outcome was read')), WAIT_MS)))])
    clearTimeout(timer)
  } finally {
    await Promise.all(h2.jobs.map((j) => j.stop()))
    await h2.server.close()
  }
})

test('a target directory outside state.savepoints.dir is refused unless rest.savepoints.allow-any-target-directory is set', async () => {
  const confined = join(dir, 'confined')
  const job = await h.run({ 'state.savepoints.dir': confined })
  const id = job.execution.jobId
  for (const [field, route] of [['target-directory', 'savepoints'], ['targetDirectory', 'stop']] as const) {
    for (const target of ['../../etc', '/etc', join(dir, 'elsewhere'), join(confined, '..', 'sibling')]) {
      const r = await h.api('POST', `/jobs/${id}/${route}`, { [field]: target })
      assert.equal(r.status, 400, `${route} ${target}`)
      assert.match(r.body.errors[0], new RegExp(`'${field}' .* is outside execution\\.checkpointing\\.savepoint-dir \\(.*confined\\).*rest\\.savepoints\\.allow-any-target-directory`))
    }
  }
  assert.equal(job.execution.coordinator.counts.triggered, 0, 'nothing was triggered')
  assert.equal(existsSync(join(dir, 'elsewhere')), false)
  // Inside: a relative directory is taken inside state.savepoints.dir.
  const inside = await h.api('POST', `/jobs/${id}/savepoints`, { 'target-directory': 'daily' })
  assert.equal(inside.status, 202)
  const s = await status(id, inside.body['request-id'])
  assert.equal(dirname(s.operation.location), join(confined, 'daily'))
  await job.stop()

  const none = await h.run()
  const refused = await h.api('POST', `/jobs/${none.execution.jobId}/savepoints`, { 'target-directory': join(dir, 'x') })
  assert.equal(refused.status, 400)
  assert.match(refused.body.errors[0], /no execution\.checkpointing\.savepoint-dir to confine savepoints to/)
  await none.stop()

  const open = await h.run({ 'rest.savepoints.allow-any-target-directory': true })
  const anywhere = await h.api('POST', `/jobs/${open.execution.jobId}/savepoints`, { 'target-directory': join(dir, 'anywhere') })
  assert.equal(anywhere.status, 202)
  assert.equal(dirname((await status(open.execution.jobId, anywhere.body['request-id'])).operation.location), join(dir, 'anywhere'))
  await open.stop()
})
