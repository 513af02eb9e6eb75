// Savepoints to S3 (an s3rver on loopback): execution.checkpointing.savepoint-dir s3://bucket/prefix
// as the default target of the REST API (and so of weir savepoint / stop), relative and s3://
// targets confined to it, the savepoint self-contained in the bucket with `_metadata` written
// last (a failed upload leaves no `_metadata`), and `weir run -s s3://...` resuming from it
// exactly once.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { startS3, type S3Server } from '../../helpers/services.ts'
import { WeirProcesses, repo } from '../../helpers/weir-process.ts'
import { checkSequences } from '../../helpers/sequence-check.ts'
import { Harness } from '../../rest/harness.ts'
import { WAIT_MS } from '../../helpers/deadlines.ts'
import { ObjectStore } from '../../../src/checkpoint/storage/s3/object-store.ts'
import { createS3Client, type S3Settings } from '../../../src/checkpoint/storage/s3/s3-location.ts'
import { localMirror } from '../../../src/checkpoint/storage/s3/s3-checkpoint-storage.ts'
import { savepointTarget } from '../../../src/checkpoint/storage/savepoint-target.ts'
import { writeMetadata } from '../../../src/checkpoint/metadata.ts'

const job = join(repo, 'test/fixtures/recovery/sequence-job.ts')
const BUCKET = 'weir-savepoints'
let s3: S3Server
let settings: S3Settings
let store: ObjectStore
let h: Harness
const processes = new WeirProcesses()
before(async () => {
  processes.ensureBuilt()
  s3 = await startS3()
  await s3.createBucket(BUCKET)
  settings = { endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, pathStyle: true, region: 'us-east-1' }
  store = new ObjectStore(createS3Client(settings), BUCKET)
  h = await Harness.start()
})
after(async () => {
  processes.stopAll()
  await h?.close()
  await s3?.stop()
})

const s3Config = () => ({ 's3.endpoint': s3.endpoint, 's3.access-key': s3.accessKey, 's3.secret-key': s3.secretKey, 's3.path.style.access': true })
const keysUnder = async (prefix: string) => (await store.list(prefix)).map((o) => o.key.slice(prefix.length)).sort()

async function runningSequenceJob(config: Record<string, string | number | boolean>, out: string, n = 4000) {
  const live = await h.run({ ...s3Config(), ...config }, job, 0, ['--out', out, '--keys', '4', '--n', String(n), '--batch', '10', '--pause', '2'])
  const deadline = Date.now() + WAIT_MS
  while (live.execution.attempt?.allTasksRunning() !== true) {
    assert.ok(Date.now() < deadline, 'every task running')
    await new Promise((r) => setTimeout(r, 10))
  }
  return live
}

const status = (jobId: string, triggerId: string) => h.poll(`/jobs/${jobId}/savepoints/${triggerId}`, (s) => s.status.id === 'COMPLETED')

test('stop with savepoint to execution.checkpointing.savepoint-dir s3://...: self-contained in the bucket, and weir run -s s3://... resumes from it exactly once', async () => {
  const out = join(processes.root, 'out-stop')
  const live = await runningSequenceJob({ 'execution.checkpointing.savepoint-dir': `s3://${BUCKET}/savepoints`, 'state.backend.type': 'lmdb' }, out)
  const id = live.execution.jobId
  const r = await h.api('POST', `/jobs/${id}/stop`, {})
  assert.equal(r.status, 202, JSON.stringify(r.body))
  const location: string = (await status(id, r.body['request-id'])).operation.location
  assert.match(location, new RegExp(`^s3://${BUCKET}/savepoints/savepoint-${id.slice(0, 6)}-[0-9a-f]{12}$`))
  const keys = await keysUnder(location.slice(`s3://${BUCKET}/`.length) + '/')
  assert.ok(keys.includes('_metadata'), keys.join(', '))
  assert.ok(keys.some((k) => k.startsWith('task-')), `task state files beside _metadata: ${keys.join(', ')}`)
  assert.equal(existsSync(join(localMirror(`s3://${BUCKET}/savepoints`), 'staging', location.split('/').at(-1)!)), false, 'the local staging copy is gone')
  assert.notEqual((await live.execution.result).status, 'FAILED')

  // Resume through the CLI, as a user would, with the hashmap backend (savepoints are canonical).
  const flags = Object.entries(s3Config()).flatMap(([k, v]) => ['-D', `${k}=${v}`])
  const resumed = processes.start(['run', '-p', '2', '-D', 'rest.port=0', ...flags, '-s', location, job, '--out', out, '--keys', '4', '--n', '4000', '--batch', '10', '--pause', '2'])
  const exit = await resumed.exit
  assert.equal(exit.code, 0, exit.stderr)
  assert.match(exit.stderr, new RegExp(`Restoring job 'SequenceRecovery' from savepoint \\d+ \\(${location.replace(/[/.]/g, '\\$&')}\\)`))
  const check = checkSequences(out, { keys: 4, n: 4000 })
  assert.ok(check.ok, check.report)
})

test('REST savepoint targets under an s3:// savepoint-dir: a relative one is a prefix inside it; other buckets, prefixes, .. and file paths are refused', async () => {
  const base = `s3://${BUCKET}/confined`
  const live = await runningSequenceJob({ 'state.savepoints.dir': base }, join(processes.root, 'out-confined'), 1_000_000)
  const id = live.execution.jobId
  for (const target of [`s3://other-bucket/confined`, `s3://${BUCKET}/elsewhere`, `s3://${BUCKET}/confined-not`, 'daily/../../x', `s3://${BUCKET}/confined/../x`, '/tmp/x']) {
    const r = await h.api('POST', `/jobs/${id}/savepoints`, { 'target-directory': target })
    assert.equal(r.status, 400, target)
    assert.match(r.body.errors[0], /is outside execution\.checkpointing\.savepoint-dir/, target)
  }
  assert.equal(live.execution.coordinator.counts.triggered, 0, 'nothing was triggered')
  for (const [target, prefix] of [['daily', `${base}/daily`], [`${base}/weekly`, `${base}/weekly`]] as const) {
    const r = await h.api('POST', `/jobs/${id}/savepoints`, { 'target-directory': target })
    assert.equal(r.status, 202, JSON.stringify(r.body))
    const location: string = (await status(id, r.body['request-id'])).operation.location
    assert.equal(location.slice(0, location.lastIndexOf('/')), prefix)
    assert.ok((await keysUnder(location.slice(`s3://${BUCKET}/`.length) + '/')).includes('_metadata'))
  }
  await live.stop()
})

test('an upload of _metadata cut off midway (its process killed) leaves no _metadata in the bucket: the marker is copied into place once whole', async () => {
  const proxy = await cuttingProxy('_metadata')
  try {
    const target = savepointTarget(`s3://${BUCKET}/cut`, 'savepoint-000000-000000000001', () => ({ ...settings, endpoint: proxy.endpoint }))
    mkdirSync(target.localDir, { recursive: true })
    writeFileSync(join(target.localDir, 'task-0-0-0.state'), 'state')
    await writeMetadata(target.localDir, { version: 1, kind: 'savepoint', jobId: '0'.repeat(32), jobName: 'x'.repeat(4000), checkpointId: 1, triggeredAt: 0, completedAt: 0, vertices: [], coordinators: {} })
    await assert.rejects(target.commit())
    assert.ok(proxy.cut() > 0, 'an upload was cut')
    const keys = await keysUnder('cut/savepoint-000000-000000000001/')
    assert.ok(keys.includes('task-0-0-0.state'))
    assert.ok(!keys.includes('_metadata'), `no _metadata among ${keys.join(', ')}`)
  } finally {
    await proxy.close()
  }
  // Through s3rver itself, the same savepoint ends with its _metadata whole and no upload left.
  const whole = savepointTarget(`s3://${BUCKET}/cut`, 'savepoint-000000-000000000002', () => settings)
  mkdirSync(whole.localDir, { recursive: true })
  writeFileSync(join(whole.localDir, 'task-0-0-0.state'), 'state')
  await writeMetadata(whole.localDir, { version: 1, kind: 'savepoint', jobId: '0'.repeat(32), jobName: 'x', checkpointId: 1, triggeredAt: 0, completedAt: 0, vertices: [], coordinators: {} })
  await whole.commit()
  assert.deepEqual((await keysUnder('cut/savepoint-000000-000000000002/')).sort(), ['_metadata', 'task-0-0-0.state'])
})

/**
 * A loopback proxy to s3rver that passes on only the first half of the body of every PUT of a key
 * containing `cutAt`, then drops both connections, as when the uploading process is killed.
 */
async function cuttingProxy(cutAt: string): Promise<{ endpoint: string; cut(): number; close(): Promise<void> }> {
  const target = new URL(s3.endpoint)
  let cut = 0
  const server = createServer((req, res) => {
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    if (req.method !== 'PUT' || !decodeURIComponent(req.url ?? '').includes(cutAt) || req.headers['x-amz-copy-source'] !== undefined) {
      req.pipe(upstream)
      return
    }
    const half = Math.floor(Number(req.headers['content-length'] ?? 0) / 2)
    let sent = 0
    req.on('data', (chunk: Buffer) => {
      if (sent >= half) return
      const part = chunk.subarray(0, half - sent)
      sent += part.length
      upstream.write(part)
      if (sent >= half) {
        cut++
        // Let the half reach the store, then drop both sides.
        setTimeout(() => {
          upstream.destroy()
          res.destroy()
        }, 50)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { endpoint: `http://127.0.0.1:${port}`, cut: () => cut, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

/** A loopback proxy to s3rver that refuses (403) every PUT of a key containing `refused`. */
async function refusingProxy(refused: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const target = new URL(s3.endpoint)
  const server = createServer((req, res) => {
    if (req.method === 'PUT' && decodeURIComponent(req.url ?? '').includes(refused)) {
      req.resume()
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>refused by the test</Message></Error>')
      return
    }
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

test('an S3 savepoint whose state file cannot be uploaded leaves no _metadata in the bucket (it is written last); discard removes the rest', async () => {
  const proxy = await refusingProxy('task-0-1-0')
  try {
    const target = savepointTarget(`s3://${BUCKET}/broken`, 'savepoint-000000-000000000000', () => ({ ...settings, endpoint: proxy.endpoint }))
    mkdirSync(target.localDir, { recursive: true })
    for (const f of ['task-0-0-0.state', 'task-0-1-0.state', 'task-0-2-0.state']) writeFileSync(join(target.localDir, f), 'state')
    await writeMetadata(target.localDir, { version: 1, kind: 'savepoint', jobId: '0'.repeat(32), jobName: 'x', checkpointId: 1, triggeredAt: 0, completedAt: 0, vertices: [], coordinators: {} })
    await assert.rejects(target.commit(), /S3: uploading .*task-0-1-0\.state/)
    const keys = await keysUnder('broken/savepoint-000000-000000000000/')
    assert.deepEqual(keys, ['task-0-0-0.state', 'task-0-2-0.state'], 'the other files went up, _metadata did not')
    await target.discard()
    assert.deepEqual(await keysUnder('broken/'), [], 'discard removes what was uploaded')
    assert.equal(existsSync(target.localDir), false)
  } finally {
    await proxy.close()
  }
})
