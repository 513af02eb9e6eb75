// `weir run` with state.checkpoints.dir on S3 (an s3rver on loopback): killed with SIGKILL twice
// after a checkpoint reached the bucket, and resumed with --from-checkpoint latest (downloaded
// from the bucket), it commits every record exactly once. The LMDB backend takes incremental
// checkpoints, so shared files go through the bucket too.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startS3, type S3Server } from '../../helpers/services.ts'
import { WeirProcesses, repo, waitUntil } from '../../helpers/weir-process.ts'
import { checkSequences } from '../../helpers/sequence-check.ts'
import { WAIT_MS } from '../../helpers/deadlines.ts'
import { ObjectStore } from '../../../src/checkpoint/storage/s3/object-store.ts'
import { createS3Client } from '../../../src/checkpoint/storage/s3/s3-location.ts'

const job = join(repo, 'test/fixtures/recovery/sequence-job.ts')
let s3: S3Server
const processes = new WeirProcesses()
before(async () => {
  processes.ensureBuilt()
  s3 = await startS3()
  await s3.createBucket('weir-recovery')
})
after(async () => {
  processes.stopAll()
  await s3?.stop()
})

test('a job checkpointing to S3 (incremental LMDB), killed with SIGKILL twice and resumed with --from-checkpoint latest, commits every record exactly once', async () => {
  const store = new ObjectStore(createS3Client({ endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, pathStyle: true, region: 'us-east-1' }), 'weir-recovery')
  const out = join(processes.root, 'out')
  const flags = [
    'run', '--no-typecheck', '-p', '2', '-D', 'execution.checkpointing.interval=100ms', '-D', 'state.checkpoints.dir=s3://weir-recovery/ckpt',
    '-D', `s3.endpoint=${s3.endpoint}`, '-D', `s3.access-key=${s3.accessKey}`, '-D', `s3.secret-key=${s3.secretKey}`, '-D', 's3.path.style.access=true',
    '-D', 'execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION', '-D', 'rest.port=0',
    '-D', 'state.backend.type=lmdb', '-D', 'state.backend.incremental=true',
  ]
  const args = [job, '--out', out, '--keys', '8', '--n', '3000', '--batch', '10', '--pause', '2']
  const known = new Set<string>()
  const completedJobs = async () => new Set((await store.list('ckpt/')).filter((o) => o.key.endsWith('/_metadata')).map((o) => o.key.split('/')[1]!))
  for (let kill = 0; kill < 2; kill++) {
    const proc = processes.start([...flags, ...(kill > 0 ? ['--from-checkpoint', 'latest'] : []), ...args])
    const jobId = await waitUntil('a checkpoint of this run in the bucket', async () => [...(await completedJobs())].find((j) => !known.has(j)), proc, WAIT_MS)
    known.add(jobId)
    await sleep(200)
    const exit = await processes.kill(proc)
    assert.equal(exit.signal, 'SIGKILL', `weir ended before it was killed (code ${exit.code}):\n${exit.stderr}`)
    if (kill > 0) assert.match(exit.stderr, /Restoring job 'SequenceRecovery' from checkpoint \d+ \(s3:\/\/weir-recovery\/ckpt\//)
  }
  const last = processes.start([...flags, '--from-checkpoint', 'latest', ...args])
  const exit = await last.exit
  assert.equal(exit.code, 0, exit.stderr)
  const check = checkSequences(out, { keys: 8, n: 3000 })
  assert.ok(check.ok, check.report)
})
