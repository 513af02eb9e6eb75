// The PostgreSQL sink against a real server (started once for this file, on loopback): the sink
// contract in each of the four modes, then what only PostgreSQL has: prepared transactions left
// by a killed run, a server restart while transactions are prepared, and batching.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { startPostgres, type PostgresServer } from '../../helpers/services.ts'
import { sinkContract, type Guarantee } from '../../api/sink.contract.ts'
import { PostgresSink } from '../../../src/connectors/postgres/postgres-sink.ts'
import type { PostgresSinkMode } from '../../../src/connectors/postgres/options.ts'
import { SinkSubtask } from '../../helpers/sink-harness.ts'
import { isWeirError } from '../../../src/errors.ts'

let server: PostgresServer
let admin: pg.Client
before(async () => {
  server = await startPostgres()
  admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
})
after(async () => {
  await admin?.end()
  await server?.stop()
})

interface Row {
  readonly id: number
  readonly payload: string
}

let tableNo = 0
async function freshTable(mode: PostgresSinkMode): Promise<string> {
  const table = `t_${mode.replace(/-/g, '_')}_${tableNo++}`
  await admin.query(`CREATE TABLE ${table} (id bigint ${mode === 'upsert' ? 'PRIMARY KEY' : ''}, payload text)`)
  return table
}

async function ids(table: string): Promise<number[]> {
  const r = await admin.query<{ id: string }>(`SELECT id FROM ${table}`)
  return r.rows.map((row) => Number(row.id))
}

function sinkFor(mode: PostgresSinkMode, table: string, extra: { batchRows?: number } = {}): PostgresSink<Row> {
  return new PostgresSink<Row>({ url: server.url, table, columns: ['id', 'payload'], mode, keyColumns: mode === 'upsert' ? ['id'] : undefined, ...extra })
}

const GUARANTEES: Record<PostgresSinkMode, Guarantee> = { 'exactly-once': 'exactly-once', 'write-ahead': 'exactly-once', upsert: 'idempotent', 'at-least-once': 'at-least-once' }

for (const mode of Object.keys(GUARANTEES) as PostgresSinkMode[]) {
  let jobNo = 0
  sinkContract<Row>({
    name: `PostgresSink ${mode}`,
    guarantee: GUARANTEES[mode],
    reportsCommitted: mode === 'exactly-once' || mode === 'write-ahead',
    record: (i) => ({ id: i, payload: `row ${i}\twith a tab` }),
    async fresh() {
      const table = await freshTable(mode)
      return { sink: () => sinkFor(mode, table, { batchRows: 3 }), committed: () => ids(table), subtaskOptions: { jobName: `Contract-${mode}-${jobNo++}` } }
    },
  })
}

async function prepared(prefix: string): Promise<string[]> {
  const r = await admin.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE left(gid, length($1)) = $1 ORDER BY gid', [prefix])
  return r.rows.map((row) => row.gid)
}

test('exactly-once names its prepared transactions weir:<job>:<uid>:<subtask>:<checkpoint>', async () => {
  const table = await freshTable('exactly-once')
  const s = new SinkSubtask<Row>(sinkFor('exactly-once', table), { jobName: 'Naming Job', uid: 'pg-sink', subtaskIndex: 1, parallelism: 2 })
  s.write({ id: 1, payload: 'a' })
  await s.checkpoint(7)
  assert.deepEqual(await prepared('weir:Naming_Job:pg-sink:'), ['weir:Naming_Job:pg-sink:1:7'])
  await s.complete(7)
  assert.deepEqual(await prepared('weir:Naming_Job:pg-sink:'), [])
  assert.deepEqual(await ids(table), [1])
  await s.finish()
})

test('exactly-once: a start rolls back the prepared transactions of its subtask slot that no restored checkpoint covers, and leaves other slots alone', async () => {
  const table = await freshTable('exactly-once')
  const job = { jobName: 'Leftovers', uid: 'sink' }
  const a = new SinkSubtask<Row>(sinkFor('exactly-once', table), { ...job, subtaskIndex: 0, parallelism: 2 })
  const b = new SinkSubtask<Row>(sinkFor('exactly-once', table), { ...job, subtaskIndex: 1, parallelism: 2 })
  a.write({ id: 1, payload: 'a' })
  b.write({ id: 2, payload: 'b' })
  await a.checkpoint(3)
  await b.checkpoint(3)
  a.crash()
  b.crash() // killed: both transactions stay prepared
  assert.deepEqual(await prepared('weir:Leftovers:sink:'), ['weir:Leftovers:sink:0:3', 'weir:Leftovers:sink:1:3'])
  // A fresh start of subtask 0 at parallelism 2: only its own slot is its business.
  const fresh = new SinkSubtask<Row>(sinkFor('exactly-once', table), { ...job, subtaskIndex: 0, parallelism: 2, attemptNumber: 1 })
  fresh.write({ id: 3, payload: 'c' })
  await fresh.checkpoint(1)
  assert.deepEqual(await prepared('weir:Leftovers:sink:'), ['weir:Leftovers:sink:0:1', 'weir:Leftovers:sink:1:3'])
  await fresh.complete(1)
  assert.deepEqual(await ids(table), [3])
  await fresh.finish()
})

test('exactly-once: transactions prepared before a PostgreSQL restart are committed by the restore after it', async () => {
  const table = await freshTable('exactly-once')
  const job = { jobName: 'Restart', uid: 'sink' }
  const s1 = new SinkSubtask<Row>(sinkFor('exactly-once', table), job)
  for (let i = 0; i < 100; i++) s1.write({ id: i, payload: `p${i}` })
  const c1 = await s1.checkpoint(1)
  s1.write({ id: 100, payload: 'uncovered' })
  s1.crash()
  await admin.end()
  await server.restart()
  admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
  assert.deepEqual(await prepared('weir:Restart:sink:'), ['weir:Restart:sink:0:1'], 'the prepared transaction survived the restart')
  assert.deepEqual(await ids(table), [])
  const s2 = new SinkSubtask<Row>(sinkFor('exactly-once', table), { ...job, attemptNumber: 1, restored: [c1] })
  await s2.whenCommitted()
  assert.deepEqual((await ids(table)).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i))
  assert.deepEqual(await prepared('weir:Restart:sink:'), [])
  await s2.finish()
})

test('exactly-once: a prepared transaction of a completed checkpoint that someone rolled back fails the commit, saying its rows are lost', async () => {
  const table = await freshTable('exactly-once')
  const s = new SinkSubtask<Row>(new PostgresSink<Row>({ url: server.url, table, columns: ['id', 'payload'], maxCommitRetries: 0 }), { jobName: 'Lost', uid: 'sink' })
  s.write({ id: 1, payload: 'a' })
  await s.checkpoint(1)
  await admin.query("ROLLBACK PREPARED 'weir:Lost:sink:0:1'")
  await assert.rejects(s.complete(1), (e: unknown) => isWeirError(e) && e.code === 'WEIR_SINK_FAILED' && /weir:Lost:sink:0:1.*lost/.test(e.message))
  s.crash()
})

test('a record whose row has the wrong number of values fails the write naming the columns', async () => {
  const table = await freshTable('at-least-once')
  const s = new SinkSubtask<unknown>(new PostgresSink<unknown>({ url: server.url, table, columns: ['id', 'payload'], mode: 'at-least-once', row: (r) => r as unknown[] }))
  assert.throws(() => s.write([1]), /1 values for the 2 columns id, payload/)
  s.crash()
})

test('options are checked when the sink is made', () => {
  assert.throws(() => new PostgresSink({ url: 'mysql://x', table: 't', columns: ['a'] }), /url must be a postgres/)
  assert.throws(() => new PostgresSink({ url: server.url, table: 't; drop', columns: ['a'] }), /table must be/)
  assert.throws(() => new PostgresSink({ url: server.url, table: 't', columns: ['a'], mode: 'upsert' }), /needs keyColumns/)
  assert.throws(() => new PostgresSink({ url: server.url, table: 't', columns: ['a'], mode: 'sometimes' as PostgresSinkMode }), /mode must be one of/)
})
