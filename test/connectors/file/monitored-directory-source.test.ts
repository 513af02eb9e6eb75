// The monitored-directory source (env.readTextFile(dir, { monitorInterval })): new files are
// found every interval and read once, hidden names ('.', '_') are ignored until renamed, and
// after a failure the restart neither reads a file twice nor skips one written meanwhile.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startJob } from '../../runtime/live-job.ts'
import { TEST_TIMEOUT_MS } from '../../helpers/deadlines.ts'

const job = fileURLToPath(new URL('../../fixtures/jobs/monitored-lines.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-monitor-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

/** Writes a file of lines `${name}-1` .. `${name}-n` under a hidden name, then renames it into view. */
function publish(dir: string, name: string, n: number): string[] {
  const lines = Array.from({ length: n }, (_, i) => `${name}-${i + 1}`)
  writeFileSync(join(dir, `.${name}.tmp`), `${lines.join('\n')}\n`)
  renameSync(join(dir, `.${name}.tmp`), join(dir, name))
  return lines
}

/** Lines in the committed (finished, visible) part files of a FileSink directory. */
function committed(out: string): string[] {
  if (!existsSync(out)) return []
  return readdirSync(out).filter((f) => f.startsWith('part-')).flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l.length > 0))
}

async function until(what: string, probe: () => boolean, ended: () => boolean): Promise<void> {
  while (!probe()) {
    if (ended()) throw new Error(`the job ended before ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('files that appear are read once; a hidden file only once renamed; a restart neither repeats nor skips a file', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = join(root, 'in')
  const out = join(root, 'out')
  mkdirSync(dir)
  writeFileSync(join(dir, '_ignored'), 'never-1\n')
  const live = await startJob(job, {
    args: ['--dir', dir, '--out', out, '--fail-at', 'c-50'],
    config: {
      'parallelism.default': 2, 'execution.checkpointing.interval': '50ms', 'state.checkpoints.dir': join(root, 'checkpoints'),
      'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 3, 'restart-strategy.fixed-delay.delay': '100ms',
    },
  })
  let ended = false
  void live.result.then(() => (ended = true))
  try {
    const expected = [...publish(dir, 'a', 100), ...publish(dir, 'b', 3000)]
    writeFileSync(join(dir, '.hidden'), 'hidden-1\n')
    await until('a and b were committed', () => committed(out).length >= expected.length, () => ended)
    expected.push(...publish(dir, 'c', 100)) // fails attempt 0 at c-50
    await until('the job restarted', () => live.execution.attemptCount >= 1, () => ended)
    expected.push(...publish(dir, 'd', 100))
    await until('every file was committed', () => committed(out).length >= expected.length, () => ended)
    // One more checkpoint round: anything read twice would be committed by now.
    const done = live.execution.coordinator.counts.completed
    await until('another checkpoint', () => live.execution.coordinator.counts.completed >= done + 2, () => ended)
    const lines = committed(out)
    assert.deepEqual([...lines].sort(), [...expected].sort())
    assert.ok(!lines.some((l) => l.startsWith('never') || l.startsWith('hidden')))
  } finally {
    await live.stop()
  }
})
