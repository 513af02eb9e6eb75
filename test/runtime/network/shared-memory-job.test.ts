// A job over the shared-memory rings between slots (taskmanager.network.local-transport:
// shared-memory) at a low rate: the receiving slot is idle, parked on its ring, between the
// sender's small batches, and must be woken for each one. Every record must arrive.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runJob } from '../../helpers/run-job.ts'

const job = fileURLToPath(new URL('../../fixtures/jobs/low-rate-exchange.ts', import.meta.url))
const N = 40

for (const sourceParallelism of [2, 1]) {
  test(`shared-memory rings: a low-rate job at -p 2 delivers every record (source parallelism ${sourceParallelism})`, async () => {
    const { result, lines } = await runJob(job, {
      args: ['--n', String(N), '--pause-ms', '5', '--source-parallelism', String(sourceParallelism)],
      config: { 'parallelism.default': 2, 'taskmanager.network.local-transport': 'shared-memory' },
    })
    assert.equal(result.status, 'FINISHED')
    const got = lines.map((l) => Number(/^(?:\d+> )?got (\d+)$/.exec(l)?.[1] ?? NaN)).sort((a, b) => a - b)
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => i + 1))
  })
}
