// write-ahead mode: a checkpoint's rows travel in the checkpoint itself (as COPY text), and are
// written when it completes, in one ordinary transaction together with a progress row (job,
// operator, subtask, checkpoint) in a table the sink owns. A repeated commit (after a failure
// between the database's COMMIT and the job hearing of it) finds the progress row and skips.
// Needs no prepared transactions; the price is checkpoint size (every row since the previous
// checkpoint is stored) and latency (rows appear only after the checkpoint completed).

import type { CommitRequest, Committer, CommitterContext, CommittingSinkWriter, SinkWriterContext } from '../../api/sink.ts'
import type { ResolvedPostgresSinkOptions } from './options.ts'
import { copyIn } from './connection.ts'
import { CommitterConnection } from './committer-connection.ts'
import { appendCopyRow } from './copy-text.ts'
import { claimProgress, ensureProgressTable, ensureTargetTable, pruneProgress, runOf } from './setup.ts'
import { sinkIdentity, type SinkIdentity } from './transaction-ids.ts'

export interface WriteAheadBatch {
  readonly run: string
  readonly subtask: number
  readonly checkpointId: number
  readonly rows: number
  /** The rows in COPY text format. */
  readonly copy: string
}

export class WriteAheadWriter<T> implements CommittingSinkWriter<T, WriteAheadBatch> {
  private text = ''
  private rows = 0
  private readonly run: string
  constructor(private readonly options: ResolvedPostgresSinkOptions<T>, private readonly ctx: SinkWriterContext, restored: unknown[]) {
    // The framework's run (SinkWriterContext.run): progress rows are keyed by it, and a forced restore starts a new one.
    this.run = ctx.run || runOf(restored)
  }

  snapshotState(): { run: string } {
    return { run: this.run }
  }

  write(record: T): void {
    this.text = appendCopyRow(this.text, this.options.row(record), this.options.columns)
    this.rows++
  }

  flush(): void {}

  prepareCommit(checkpointId: number): WriteAheadBatch[] {
    if (this.rows === 0) return []
    const batch = { run: this.run, subtask: this.ctx.subtaskIndex, checkpointId, rows: this.rows, copy: this.text }
    this.text = ''
    this.rows = 0
    return [batch]
  }

  close(): void {}
}

export class WriteAheadCommitter implements Committer<WriteAheadBatch> {
  private readonly connection: CommitterConnection
  private readonly id: SinkIdentity
  constructor(private readonly options: ResolvedPostgresSinkOptions<unknown>, ctx: CommitterContext) {
    this.id = sinkIdentity(ctx.jobName, ctx.operatorUid)
    this.connection = new CommitterConnection(options.url, async (client) => {
      await ensureTargetTable(client, options.createTable)
      await ensureProgressTable(client, options.progressTable)
    })
  }

  async commit(requests: readonly CommitRequest<WriteAheadBatch>[]): Promise<void> {
    const c = await this.connection.get()
    try {
      await c.query('BEGIN')
      for (const { committable: b } of requests) {
        // The progress row goes first: if it exists, this batch was committed before.
        if (await claimProgress(c, this.options.progressTable, { ...this.id, run: b.run, subtask: b.subtask }, b.checkpointId)) await copyIn(c, this.options.table, this.options.columns, b.copy)
        await pruneProgress(c, this.options.progressTable, { ...this.id, run: b.run, subtask: b.subtask }, b.checkpointId)
      }
      await c.query('COMMIT')
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {})
      this.connection.drop()
      throw e
    }
  }

  close(): Promise<void> {
    return this.connection.close()
  }
}
