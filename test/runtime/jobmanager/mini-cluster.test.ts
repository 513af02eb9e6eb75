import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runJob } from '../../helpers/run-job.ts'

const job = fileURLToPath(new URL('../../fixtures/jobs/sequence-sum.ts', import.meta.url))

for (const p of [1, 2, 3]) {
  test(`a bounded keyed sum finishes with the exact final sums at parallelism ${p}`, async () => {
    const { result, lines } = await runJob(job, { args: ['--n', '3000'], config: { 'parallelism.default': p } })
    assert.equal(result.status, 'FINISHED')
    assert.equal(result.recordsIn, 3000)
    assert.equal(result.recordsOut, 3000)
    const last = new Map<string, number>()
    for (const line of lines) {
      const m = /^(?:\d+> )?\((\d),(\d+)\)$/.exec(line)
      assert.ok(m, `unexpected line ${line}`)
      last.set(m[1]!, Math.max(last.get(m[1]!) ?? 0, Number(m[2])))
    }
    const expected = new Map<string, number>()
    for (let x = 1; x <= 3000; x++) expected.set(String(x % 3), (expected.get(String(x % 3)) ?? 0) + x)
    assert.deepEqual(last, expected)
  })
}
