// The PostgreSQL sink (`pg`): one sink, four modes (options.ts says when to choose which).
// Every mode runs on the two-phase commit sink API; only exactly-once and write-ahead hand
// committables over, upsert and at-least-once use the checkpoint as a flush point.

import type { CommittedCheckpoint, CommittedCheckpointsQuery, Committer, CommitterContext, CommittingSinkWriter, SinkWriterContext, TwoPhaseCommittingSink } from '../../api/sink.ts'
import { pgClient } from './connection.ts'
import { committedByProgress } from './setup.ts'
import { sinkIdentity } from './transaction-ids.ts'
import { resolvePostgresSinkOptions, type PostgresSinkOptions, type ResolvedPostgresSinkOptions } from './options.ts'
import { ExactlyOnceCommitter, ExactlyOnceWriter } from './exactly-once.ts'
import { WriteAheadCommitter, WriteAheadWriter } from './write-ahead.ts'
import { DirectWriter, NO_COMMITS } from './direct.ts'

export class PostgresSink<T> implements TwoPhaseCommittingSink<T, unknown> {
  readonly options: ResolvedPostgresSinkOptions<T>
  readonly maxCommitRetries: number
  /** exactly-once and write-ahead: what the progress table says was committed (a restore from an older checkpoint is refused). */
  readonly committedCheckpoints?: (query: CommittedCheckpointsQuery) => Promise<CommittedCheckpoint[]>

  constructor(options: PostgresSinkOptions<T>) {
    this.options = resolvePostgresSinkOptions(options)
    this.maxCommitRetries = this.options.maxCommitRetries
    if (this.options.mode === 'exactly-once' || this.options.mode === 'write-ahead') this.committedCheckpoints = (query) => this.readProgress(query)
  }

  private async readProgress(query: CommittedCheckpointsQuery): Promise<CommittedCheckpoint[]> {
    const client = new (pgClient().Client)({ connectionString: this.options.url, connectionTimeoutMillis: 30_000 })
    client.on('error', () => {})
    try {
      await client.connect()
      return await committedByProgress(client, this.options.progressTable, { ...sinkIdentity(query.jobName, query.operatorUid), run: query.run })
    } finally {
      await client.end().catch(() => {})
    }
  }

  createWriter(ctx: SinkWriterContext, restored: unknown[]): CommittingSinkWriter<T, unknown> {
    switch (this.options.mode) {
      case 'exactly-once':
        return new ExactlyOnceWriter(this.options, ctx, restored)
      case 'write-ahead':
        return new WriteAheadWriter(this.options, ctx, restored)
      default:
        return new DirectWriter(this.options, ctx)
    }
  }

  createCommitter(ctx: CommitterContext): Committer<unknown> {
    const options = this.options as ResolvedPostgresSinkOptions<unknown>
    switch (options.mode) {
      case 'exactly-once':
        return new ExactlyOnceCommitter(options, ctx) as Committer<unknown>
      case 'write-ahead':
        return new WriteAheadCommitter(options, ctx) as Committer<unknown>
      default:
        return NO_COMMITS
    }
  }
}
