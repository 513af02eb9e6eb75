// upsert and at-least-once modes: rows are written as they come, in batches, each batch its own
// transaction (at-least-once: COPY; upsert: a multi-row INSERT ... ON CONFLICT (key) DO UPDATE).
// A checkpoint waits until every batch written before it is in the database, so a restore
// replays only what came after: at-least-once may write those rows twice, upsert overwrites them.

import type { Committer, CommittingSinkWriter, SinkWriterContext } from '../../api/sink.ts'
import type { ResolvedPostgresSinkOptions } from './options.ts'
import { copyIn } from './connection.ts'
import { WriterConnection } from './writer-connection.ts'
import { appendCopyRow } from './copy-text.ts'
import { ensureTargetTable } from './setup.ts'

/** PostgreSQL's limit of parameters per statement. */
const MAX_PARAMETERS = 65535

export class DirectWriter<T> implements CommittingSinkWriter<T, never> {
  private text = ''
  /** upsert: the batch's rows by key (a later record of a key replaces an earlier one; ON CONFLICT cannot touch a row twice). */
  private readonly byKey = new Map<string, readonly unknown[]>()
  private rows = 0
  private readonly writer: WriterConnection
  private readonly upsert: boolean
  private readonly batchRows: number
  private readonly keyIndexes: number[]

  constructor(private readonly options: ResolvedPostgresSinkOptions<T>, ctx: SinkWriterContext) {
    this.upsert = options.mode === 'upsert'
    this.batchRows = this.upsert ? Math.min(options.batchRows, Math.floor(MAX_PARAMETERS / options.columns.length)) : options.batchRows
    this.keyIndexes = options.keyColumns.map((k) => options.columns.indexOf(k))
    this.writer = new WriterConnection(options.url, `PostgresSink (${options.mode}) into ${options.table}, subtask ${ctx.subtaskIndex}`, ctx, options.maxBatchesInFlight)
    void this.conn.run('connecting', async (c) => {
      await c.connect()
      await ensureTargetTable(c, options.createTable)
    }).catch(() => {})
  }

  write(record: T): void {
    if (this.conn.failure) throw this.conn.failure
    const row = this.options.row(record)
    if (this.upsert) {
      if (row.length !== this.options.columns.length) this.text = appendCopyRow('', row, this.options.columns) // throws, naming the mismatch
      const key = this.keyIndexes.length === 1 ? String(row[this.keyIndexes[0]!]) : JSON.stringify(this.keyIndexes.map((i) => row[i]))
      this.byKey.set(key, row)
    } else {
      this.text = appendCopyRow(this.text, row, this.options.columns)
    }
    if (++this.rows >= this.batchRows) this.send()
  }

  flush(): void {
    if (this.rows > 0) this.send()
  }

  private send(): void {
    this.rows = 0
    if (this.upsert) {
      const rows = [...this.byKey.values()]
      this.byKey.clear()
      const { sql, params } = upsertStatement(this.options.table, this.options.columns, this.options.keyColumns, rows)
      void this.conn.run('INSERT ... ON CONFLICT', (c) => c.query(sql, params)).catch(() => {})
    } else {
      const text = this.text
      this.text = ''
      void this.conn.run('COPY', (c) => copyIn(c, this.options.table, this.options.columns, text)).catch(() => {})
    }
  }

  /** Nothing to commit later: the checkpoint waits until every earlier batch is written. */
  prepareCommit(): Promise<never[]> {
    if (this.conn.failure) throw this.conn.failure
    if (this.rows > 0) this.send()
    return this.conn.run('waiting for written batches', async () => [])
  }

  private get conn() {
    return this.writer.conn
  }

  isBusy(): boolean {
    return this.writer.isBusy()
  }

  async close(): Promise<void> {
    if (this.rows > 0 && !this.conn.failure) this.send()
    await this.writer.end()
  }

  abandon(): void {
    this.conn.destroy()
  }
}

export function upsertStatement(table: string, columns: readonly string[], keys: readonly string[], rows: readonly (readonly unknown[])[]): { sql: string; params: unknown[] } {
  const params: unknown[] = []
  const tuples: string[] = []
  for (const row of rows) {
    const slots: string[] = []
    for (const v of row) {
      params.push(v)
      slots.push(`$${params.length}`)
    }
    tuples.push(`(${slots.join(', ')})`)
  }
  const updates = columns.filter((c) => !keys.includes(c)).map((c) => `${c} = EXCLUDED.${c}`)
  const action = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'
  return { sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (${keys.join(', ')}) ${action}`, params }
}

/** Nothing is ever handed over in these modes. */
export const NO_COMMITS: Committer<never> = { commit() {}, close() {} }
