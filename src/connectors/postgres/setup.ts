// What the sink makes sure of at start: the target table (when the user gave its DDL), the
// progress table it owns, and for exactly-once that the server allows prepared transactions.

import type pg from 'pg'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../errors.ts'

/** Runs a CREATE ... IF NOT EXISTS; several subtasks racing to create the same table is not an error. */
async function createIfMissing(client: pg.Client, sql: string): Promise<void> {
  try {
    await client.query(sql)
  } catch (e) {
    const code = (e as { code?: string }).code
    // 23505: a concurrent creator won the race on the catalog; 42P07: already exists.
    if (code !== '23505' && code !== '42P07') throw e
  }
}

/**
 * The progress table: one row per committed checkpoint per subtask, per run. A run starts
 * with a fresh start of the job and goes on through every restore from its checkpoints, so a
 * new run of a job with the same name (checkpoint ids start at 1 again) is not mistaken for a
 * repeat of an old one. Rows more than PROGRESS_ROWS_KEPT checkpoints old are deleted.
 */
export async function ensureProgressTable(client: pg.Client, table: string): Promise<void> {
  await createIfMissing(client, `CREATE TABLE IF NOT EXISTS ${table} (job text NOT NULL, operator text NOT NULL, run text NOT NULL, subtask integer NOT NULL, checkpoint_id bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, operator, run, subtask, checkpoint_id))`)
}

export async function ensureTargetTable(client: pg.Client, createTable: string | null): Promise<void> {
  if (createTable) await createIfMissing(client, createTable)
}

export async function requirePreparedTransactions(client: pg.Client): Promise<void> {
  const r = await client.query<{ max_prepared_transactions: string }>('SHOW max_prepared_transactions')
  const max = Number(r.rows[0]?.max_prepared_transactions ?? 0)
  if (max === 0) {
    throw new UserError('WEIR_INVALID_CONFIG', "PostgresSink mode 'exactly-once' needs prepared transactions, but this server has max_prepared_transactions = 0 (the default). Set max_prepared_transactions to at least the sink's parallelism times 2 in postgresql.conf and restart the server, or use mode 'write-ahead', which needs no prepared transactions")
  }
}

/**
 * Inserts the progress row of `checkpointId` (in the caller's transaction); false when it was
 * there already, i.e. this checkpoint was committed before.
 */
export async function claimProgress(client: pg.Client, table: string, key: { job: string; operator: string; run: string; subtask: number }, checkpointId: number): Promise<boolean> {
  const r = await client.query(`INSERT INTO ${table} (job, operator, run, subtask, checkpoint_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [key.job, key.operator, key.run, key.subtask, checkpointId])
  return r.rowCount === 1
}

/** Checkpoints of progress kept per subtask: a repeated commit is always of a recent checkpoint. */
export const PROGRESS_ROWS_KEPT = 1000

export async function pruneProgress(client: pg.Client, table: string, key: { job: string; operator: string; run: string; subtask: number }, newest: number): Promise<void> {
  if (newest % 100 !== 0) return
  await client.query(`DELETE FROM ${table} WHERE job = $1 AND operator = $2 AND run = $3 AND subtask = $4 AND checkpoint_id < $5`, [key.job, key.operator, key.run, key.subtask, newest - PROGRESS_ROWS_KEPT])
}

/**
 * The newest checkpoint each subtask committed in `run`, from the progress table (one row per
 * committed checkpoint, written in the commit's own transaction). No table yet: nothing committed.
 */
export async function committedByProgress(client: pg.Client, table: string, key: { job: string; operator: string; run: string }): Promise<{ subtaskIndex: number; checkpointId: number }[]> {
  try {
    const r = await client.query<{ subtask: number; newest: string }>(`SELECT subtask, max(checkpoint_id) AS newest FROM ${table} WHERE job = $1 AND operator = $2 AND run = $3 GROUP BY subtask`, [key.job, key.operator, key.run])
    return r.rows.map((row) => ({ subtaskIndex: Number(row.subtask), checkpointId: Number(row.newest) }))
  } catch (e) {
    if ((e as { code?: string }).code === '42P01') return [] // undefined_table
    throw e
  }
}

/** A run id for a sink without the framework's (SinkWriterContext.run): a restore keeps the run of its checkpoint. */
export function runOf(restored: unknown[]): string {
  for (const s of restored) {
    const run = (s as { run?: unknown } | null)?.run
    if (typeof run === 'string') return run
  }
  return randomBytes(6).toString('hex')
}
