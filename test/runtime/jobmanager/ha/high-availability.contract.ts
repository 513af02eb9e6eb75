// The contract every HighAvailabilityServices implementation meets (memory, file system, and
// any coordination service added later): what was written is read back, jobs are listed
// oldest first, a removed job is gone with its checkpoint pointer, a rewritten pointer wins.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { HighAvailabilityServices, JobSubmission } from '../../../../src/runtime/jobmanager/ha/high-availability.ts'

export function runHaServicesContract(name: string, create: () => Promise<{ ha: HighAvailabilityServices; close(): Promise<void> }>): void {
  const job = (n: number): JobSubmission => ({ jobId: n.toString(16).padStart(32, '0'), submittedAt: 1000 + n, args: ['--x', String(n)], config: { 'parallelism.default': '2' } })

  test(`${name}: a stored job and its artifact are read back as written`, async () => {
    const { ha, close } = await create()
    try {
      await ha.putJob(job(1), Uint8Array.of(1, 2, 3))
      assert.deepEqual(await ha.getJob(job(1).jobId), job(1))
      assert.deepEqual(Array.from((await ha.getArtifact(job(1).jobId))!), [1, 2, 3])
      assert.equal(await ha.getJob(job(2).jobId), null)
      assert.equal(await ha.getArtifact(job(2).jobId), null)
    } finally {
      await close()
    }
  })

  test(`${name}: jobs are listed oldest first and a removed job is gone with its checkpoint pointer`, async () => {
    const { ha, close } = await create()
    try {
      await ha.putJob(job(3), Uint8Array.of(3))
      await ha.putJob(job(2), Uint8Array.of(2))
      await ha.setLatestCheckpoint(job(2).jobId, { checkpointId: 4, path: '/tmp/chk-4' })
      assert.deepEqual((await ha.listJobs()).map((j) => j.jobId), [job(2).jobId, job(3).jobId])
      await ha.removeJob(job(2).jobId)
      assert.deepEqual((await ha.listJobs()).map((j) => j.jobId), [job(3).jobId])
      assert.equal(await ha.getLatestCheckpoint(job(2).jobId), null)
    } finally {
      await close()
    }
  })

  test(`${name}: the latest checkpoint pointer is the last one written`, async () => {
    const { ha, close } = await create()
    try {
      await ha.putJob(job(5), Uint8Array.of(5))
      assert.equal(await ha.getLatestCheckpoint(job(5).jobId), null)
      await ha.setLatestCheckpoint(job(5).jobId, { checkpointId: 1, path: '/c/chk-1' })
      await ha.setLatestCheckpoint(job(5).jobId, { checkpointId: 2, path: null })
      assert.deepEqual(await ha.getLatestCheckpoint(job(5).jobId), { checkpointId: 2, path: null })
    } finally {
      await close()
    }
  })
}
