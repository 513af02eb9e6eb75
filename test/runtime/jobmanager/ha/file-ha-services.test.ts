import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runHaServicesContract } from './high-availability.contract.ts'
import { FileHaServices } from '../../../../src/runtime/jobmanager/ha/file-ha-services.ts'

runHaServicesContract('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weir-ha-'))
  return { ha: new FileHaServices(dir), close: () => rm(dir, { recursive: true, force: true }) }
})

test('file: a second instance over the same directory sees what the first wrote (a restarted JobManager)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weir-ha-'))
  try {
    const id = 'ab'.repeat(16)
    await new FileHaServices(dir).putJob({ jobId: id, submittedAt: 1, args: [], config: {} }, Uint8Array.of(9))
    await new FileHaServices(dir).setLatestCheckpoint(id, { checkpointId: 7, path: '/x/chk-7' })
    const again = new FileHaServices(dir)
    assert.deepEqual((await again.listJobs()).map((j) => j.jobId), [id])
    assert.deepEqual(await again.getLatestCheckpoint(id), { checkpointId: 7, path: '/x/chk-7' })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
