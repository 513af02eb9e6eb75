// The PostgreSQL sink in real jobs (test/fixtures/recovery/sequence-job.ts with --sink pg): faults
// injected while processing, and `weir run` killed with SIGKILL at random moments several times
// and resumed from the latest checkpoint. The table must then hold every key's sequence 1..N
// exactly once (exactly-once, write-ahead) or at least once (at-least-once).

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { unlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { startPostgres, type PostgresServer } from '../../helpers/services.ts'
import { runJob } from '../../helpers/run-job.ts'
import { bundleJob } from '../../../src/cli/bundle.ts'
import { JobExecution } from '../../../src/runtime/jobmanager/mini-cluster.ts'
import { WeirProcesses, checkpointedRun, completedCheckpoints, waitUntil } from '../../helpers/weir-process.ts'
import { SeededRandom } from '../../../src/testing/random.ts'

const job = fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url))
let server: PostgresServer
let admin: pg.Client
const processes = new WeirProcesses()
before(async () => {
  processes.ensureBuilt()
  server = await startPostgres()
  admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
})
after(async () => {
  processes.stopAll()
  await admin?.end()
  await server?.stop()
})

const KEYS = 8

/** Per key, the sequence numbers in the table; reports gaps and duplicates. */
async function checkTable(table: string, n: number, exactlyOnce: boolean): Promise<string[]> {
  const r = await admin.query<{ key: string; seq: number }>(`SELECT key, seq FROM ${table}`)
  const perKey = new Map<string, number[]>()
  for (const row of r.rows) {
    const list = perKey.get(row.key) ?? []
    list.push(row.seq)
    perKey.set(row.key, list)
  }
  const problems: string[] = []
  for (let k = 0; k < KEYS; k++) {
    const seqs = (perKey.get(`k${k}`) ?? []).sort((a, b) => a - b)
    const distinct = [...new Set(seqs)]
    if (distinct.length !== n || distinct[0] !== 1 || distinct.at(-1) !== n) problems.push(`k${k}: ${distinct.length} distinct of ${n}`)
    if (exactlyOnce && seqs.length !== distinct.length) problems.push(`k${k}: ${seqs.length - distinct.length} duplicates`)
  }
  return problems
}

let tableNo = 0
for (const [mode, exactlyOnce] of [['exactly-once', true], ['write-ahead', true], ['at-least-once', false]] as const) {
  test(`pg ${mode}: a job at parallelism 2 with a failure while processing ends with every record in the table ${exactlyOnce ? 'exactly' : 'at least'} once`, async () => {
    const table = `seq_faults_${tableNo++}`
    const dir = join(processes.root, table)
    const { result } = await runJob(job, {
      args: ['--sink', 'pg', '--pg-url', server.url, '--pg-table', table, '--pg-mode', mode, '--keys', String(KEYS), '--n', '500', '--faults', 'processing@0:300', '--gate', 'true', ...(exactlyOnce ? [] : ['--check', 'false'])],
      config: {
        'parallelism.default': 2, 'execution.checkpointing.interval': '50ms', 'state.checkpoints.dir': join(dir, 'checkpoints'),
        'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 5, 'restart-strategy.fixed-delay.delay': '50ms',
      },
    })
    assert.equal(result.status, 'FINISHED', result.error?.message)
    assert.deepEqual(await checkTable(table, 500, exactlyOnce), [])
    const left = await admin.query("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'weir:SequenceRecovery:%'")
    assert.equal(left.rowCount, 0, 'no prepared transaction is left behind')
  })
}

for (const mode of ['exactly-once', 'write-ahead'] as const) {
  test(`pg ${mode}: weir run killed with SIGKILL three times at random moments and resumed from the latest checkpoint writes every record exactly once`, async () => {
    const seed = Number(process.env.WEIR_TEST_SEED ?? Date.now() % 100000)
    const random = new SeededRandom(seed)
    const table = `seq_kill_${mode.replace('-', '_')}`
    const checkpoints = join(processes.root, table, 'checkpoints')
    const n = 3000
    const args = [job, '--sink', 'pg', '--pg-url', server.url, '--pg-table', table, '--pg-mode', mode, '--keys', String(KEYS), '--n', String(n), '--batch', '10', '--pause', '2']
    const known = new Set<string>()
    for (let kill = 0; kill < 3; kill++) {
      const proc = processes.start([...checkpointedRun(checkpoints, 2), ...(kill > 0 ? ['--from-checkpoint', 'latest'] : []), ...args])
      const jobId = await waitUntil('a completed checkpoint of this run', () => completedCheckpoints(checkpoints).find((c) => !known.has(c.jobId))?.jobId, proc)
      known.add(jobId)
      await sleep(random.int(0, 400))
      const exit = await processes.kill(proc)
      assert.equal(exit.signal, 'SIGKILL', `seed ${seed}: weir ended before it was killed (code ${exit.code}):\n${exit.stderr}`)
    }
    const last = processes.start([...checkpointedRun(checkpoints, 2), '--from-checkpoint', 'latest', ...args])
    const exit = await last.exit
    assert.equal(exit.code, 0, `seed ${seed}:\n${exit.stderr}`)
    assert.deepEqual(await checkTable(table, n, true), [], `seed ${seed} (replay with WEIR_TEST_SEED=${seed})`)
  })
}

for (const mode of ['exactly-once', 'write-ahead'] as const) {
  test(`pg ${mode}: with the newest checkpoints' _metadata lost, resuming from latest is refused (the progress table knows the newer commit) and writes no row`, async () => {
    const table = `seq_lost_${mode.replace('-', '_')}`
    const checkpoints = join(processes.root, table, 'checkpoints')
    const args = ['--sink', 'pg', '--pg-url', server.url, '--pg-table', table, '--pg-mode', mode, '--keys', String(KEYS), '--n', '3000', '--batch', '5', '--pause', '2']
    const config = {
      'parallelism.default': 2, 'execution.checkpointing.interval': '100ms', 'state.checkpoints.dir': checkpoints,
      'execution.checkpointing.num-retained': 20, 'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION', 'restart-strategy.type': 'none',
    }
    const artifact = await bundleJob(job)
    try {
      const first = await JobExecution.start({ artifactUrl: artifact.url, args, config })
      // The run is the job id of its fresh start: the progress rows of this run.
      const newestCommitted = async () => {
        if ((await admin.query("SELECT to_regclass('weir_sink_progress') AS t")).rows[0].t === null) return -1 // the sink creates it
        return Number((await admin.query<{ m: string | null }>('SELECT max(checkpoint_id) AS m FROM weir_sink_progress WHERE run = $1', [first.jobId])).rows[0]?.m ?? -1)
      }
      for (;;) {
        const committed = await newestCommitted()
        if (completedCheckpoints(checkpoints).some((c) => c.id < committed)) break
        assert.equal(first.status, 'RUNNING', 'the job runs until a checkpoint with an older one before it was committed')
        await sleep(20)
      }
      await first.cancel()
      await first.result
      const committed = await newestCommitted()
      for (const c of completedCheckpoints(checkpoints)) if (c.id >= committed) unlinkSync(join(checkpoints, c.jobId, `chk-${c.id}`, '_metadata'))
      const older = Math.max(...completedCheckpoints(checkpoints).map((c) => c.id))
      const rows = (await admin.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number

      const resumed = await JobExecution.start({ artifactUrl: artifact.url, args, config, restoreFrom: 'latest' })
      const result = await resumed.result
      assert.equal(result.status, 'FAILED')
      assert.equal(result.error?.code, 'WEIR_RESTORE_BEHIND_COMMITTED_OUTPUT', result.error?.message)
      assert.match(result.error!.message, new RegExp(`cannot restore checkpoint ${older} into .*operator 'PostgreSQL Sink' \\(uid pg-sink\\).*committed the output of checkpoint ${committed}`))
      assert.equal(resumed.restarts, 0, 'a refusal is not retried')
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, rows, 'no row written by the refused resume')
    } finally {
      artifact.dispose()
    }
  })
}
