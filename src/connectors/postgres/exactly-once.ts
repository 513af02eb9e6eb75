// exactly-once mode: each subtask writes a checkpoint's rows (COPY batches) into one open
// transaction; at the checkpoint's synchronous phase the writer queues the progress row and
// PREPARE TRANSACTION '<gid>' and hands over the gid; the committer runs COMMIT PREPARED when
// the checkpoint completes. At start a subtask rolls back the prepared transactions of its
// subtask slot that its restored checkpoint does not cover (left by a killed or failed run).

import type { CommitRequest, Committer, CommitterContext, CommittingSinkWriter, SinkWriterContext } from '../../api/sink.ts'
import type { ResolvedPostgresSinkOptions } from './options.ts'
import { copyIn } from './connection.ts'
import { WriterConnection } from './writer-connection.ts'
import { CommitterConnection } from './committer-connection.ts'
import { appendCopyRow } from './copy-text.ts'
import { claimProgress, ensureProgressTable, ensureTargetTable, pruneProgress, requirePreparedTransactions, runOf } from './setup.ts'
import { parseTransactionId, sinkIdentity, transactionId, transactionPrefix, type SinkIdentity } from './transaction-ids.ts'
import { WeirError } from '../../errors.ts'
import type pg from 'pg'

export interface PreparedTransaction {
  readonly gid: string
  readonly run: string
  readonly subtask: number
  readonly checkpointId: number
}

export class ExactlyOnceWriter<T> implements CommittingSinkWriter<T, PreparedTransaction> {
  private text = ''
  private rows = 0
  private inTransaction = false
  private readonly writer: WriterConnection
  private readonly id: SinkIdentity
  private readonly run: string

  constructor(private readonly options: ResolvedPostgresSinkOptions<T>, private readonly ctx: SinkWriterContext, restored: unknown[]) {
    this.id = sinkIdentity(ctx.jobName, ctx.operatorUid)
    // The framework's run (SinkWriterContext.run): progress rows are keyed by it, and a forced restore starts a new one.
    this.run = ctx.run || runOf(restored)
    this.writer = new WriterConnection(options.url, `PostgresSink (exactly-once) into ${options.table}, subtask ${ctx.subtaskIndex}`, ctx, options.maxBatchesInFlight)
    const recovered = new Set((ctx.recovered as PreparedTransaction[]).map((t) => t.gid))
    void this.conn.run('connecting and recovering', async (c) => {
      await c.connect()
      await requirePreparedTransactions(c)
      await ensureTargetTable(c, options.createTable)
      await ensureProgressTable(c, options.progressTable)
      await rollBackLeftovers(c, this.id, ctx.subtaskIndex, ctx.parallelism, recovered)
    }).catch(() => {})
  }

  write(record: T): void {
    if (this.conn.failure) throw this.conn.failure
    this.text = appendCopyRow(this.text, this.options.row(record), this.options.columns)
    if (++this.rows >= this.options.batchRows) this.send()
  }

  flush(): void {
    if (this.rows > 0) this.send()
  }

  private send(): void {
    const text = this.text
    this.text = ''
    this.rows = 0
    if (!this.inTransaction) {
      this.inTransaction = true
      void this.conn.run('BEGIN', (c) => c.query('BEGIN')).catch(() => {})
    }
    void this.conn.run('COPY', (c) => copyIn(c, this.options.table, this.options.columns, text)).catch(() => {})
  }

  snapshotState(): { run: string } {
    return { run: this.run }
  }

  prepareCommit(checkpointId: number): PreparedTransaction[] | Promise<PreparedTransaction[]> {
    if (this.conn.failure) throw this.conn.failure
    if (this.rows > 0) this.send()
    if (!this.inTransaction) return []
    this.inTransaction = false
    const subtask = this.ctx.subtaskIndex
    const gid = transactionId(this.id, subtask, checkpointId)
    return this.conn.run(`PREPARE TRANSACTION '${gid}'`, async (c) => {
      // The progress row commits with the data: it tells a repeated COMMIT PREPARED that it already happened.
      await claimProgress(c, this.options.progressTable, { ...this.id, run: this.run, subtask }, checkpointId)
      await c.query(`PREPARE TRANSACTION '${gid}'`)
      return [{ gid, run: this.run, subtask, checkpointId }]
    })
  }

  private get conn() {
    return this.writer.conn
  }

  isBusy(): boolean {
    return this.writer.isBusy()
  }

  async close(): Promise<void> {
    // An open transaction holds rows no checkpoint covers: they are dropped with it.
    if (this.inTransaction && !this.conn.failure) await this.conn.run('ROLLBACK', (c) => c.query('ROLLBACK')).catch(() => {})
    await this.writer.end()
  }

  abandon(): void {
    this.conn.destroy()
  }
}

/** Rolls back this sink's prepared transactions that belong to this subtask's slot and are not being recovered. */
async function rollBackLeftovers(c: pg.Client, id: SinkIdentity, subtask: number, parallelism: number, recovered: ReadonlySet<string>): Promise<void> {
  const prefix = transactionPrefix(id)
  const r = await c.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND left(gid, length($1)) = $1', [prefix])
  for (const { gid } of r.rows) {
    const parsed = parseTransactionId(id, gid)
    // Old subtask s's state went to new subtask s mod p; so does the clean-up of its transactions.
    if (!parsed || parsed.subtask % parallelism !== subtask || recovered.has(gid)) continue
    await c.query(`ROLLBACK PREPARED '${gid}'`)
  }
}

export class ExactlyOnceCommitter implements Committer<PreparedTransaction> {
  private readonly connection: CommitterConnection
  private readonly id: SinkIdentity
  constructor(private readonly options: ResolvedPostgresSinkOptions<unknown>, ctx: CommitterContext) {
    this.id = sinkIdentity(ctx.jobName, ctx.operatorUid)
    this.connection = new CommitterConnection(options.url)
  }

  async commit(requests: readonly CommitRequest<PreparedTransaction>[]): Promise<void> {
    const c = await this.connection.get()
    try {
      for (const { committable: t } of requests) {
        try {
          await c.query(`COMMIT PREPARED '${t.gid}'`)
        } catch (e) {
          if ((e as { code?: string }).code !== '42704') throw e
          // No such prepared transaction: committed before (a restore repeats commits) or lost.
          const done = await c.query(`SELECT 1 FROM ${this.options.progressTable} WHERE job = $1 AND operator = $2 AND run = $3 AND subtask = $4 AND checkpoint_id = $5`, [this.id.job, this.id.operator, t.run, t.subtask, t.checkpointId])
          if (done.rowCount === 0) {
            throw new WeirError('WEIR_SINK_FAILED', `PostgresSink: prepared transaction '${t.gid}' of a completed checkpoint is gone and was never committed (rolled back by hand?); its rows are lost`, { domain: 'external' })
          }
        }
        await pruneProgress(c, this.options.progressTable, { ...this.id, run: t.run, subtask: t.subtask }, t.checkpointId)
      }
    } catch (e) {
      if (!(e instanceof WeirError)) this.connection.drop()
      throw e
    }
  }

  close(): Promise<void> {
    return this.connection.close()
  }
}
