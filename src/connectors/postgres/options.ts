// Options of the PostgreSQL sink, their defaults, and their validation.

import { UserError } from '../../errors.ts'

/**
 * - `exactly-once`: one transaction per subtask per checkpoint, PREPARE TRANSACTION at the
 *   checkpoint, COMMIT PREPARED when it completes. Needs max_prepared_transactions > 0.
 * - `write-ahead`: rows of a checkpoint travel in the checkpoint's state and are written when
 *   it completes, in one transaction with a progress row that makes a repeated commit a no-op.
 *   Needs no prepared transactions; costs checkpoint size (the rows) and latency.
 * - `upsert`: INSERT ... ON CONFLICT (key) DO UPDATE as records come: idempotent by key.
 * - `at-least-once`: rows written as they come; a restore writes some again.
 */
export type PostgresSinkMode = 'exactly-once' | 'write-ahead' | 'upsert' | 'at-least-once'
export const POSTGRES_SINK_MODES: readonly PostgresSinkMode[] = ['exactly-once', 'write-ahead', 'upsert', 'at-least-once']

export interface PostgresSinkOptions<T> {
  /** postgres://user:password@host:port/database */
  readonly url: string
  /** Target table, optionally schema-qualified (`public.counts`). */
  readonly table: string
  /** Columns written, in the order `row` returns values. */
  readonly columns: readonly string[]
  /** How a record becomes a row (default: an array record as is, an object's `columns` fields). */
  readonly row?: (record: T) => readonly unknown[]
  /** @defaultValue 'exactly-once' */
  readonly mode?: PostgresSinkMode
  /** Key columns for `upsert` (the target of ON CONFLICT; needs a unique index on them). */
  readonly keyColumns?: readonly string[]
  /** SQL run once at start when the table is missing (CREATE TABLE IF NOT EXISTS ...). */
  readonly createTable?: string
  /** Rows per batch sent to the server (COPY, or a multi-row INSERT for upsert). @defaultValue 5000 */
  readonly batchRows?: number
  /** Batches in flight per subtask before the sink holds input back. @defaultValue 4 */
  readonly maxBatchesInFlight?: number
  /** The table of commit progress rows the sink owns. @defaultValue 'weir_sink_progress' */
  readonly progressTable?: string
  /** Retries of a failed commit (with backoff) before the job fails. @defaultValue 3 */
  readonly maxCommitRetries?: number
}

export interface ResolvedPostgresSinkOptions<T> extends Required<Omit<PostgresSinkOptions<T>, 'createTable' | 'keyColumns'>> {
  readonly createTable: string | null
  readonly keyColumns: readonly string[]
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/

export function resolvePostgresSinkOptions<T>(options: PostgresSinkOptions<T>): ResolvedPostgresSinkOptions<T> {
  const where = 'PostgresSink'
  if (!options || typeof options.url !== 'string' || !/^postgres(ql)?:\/\//.test(options.url)) {
    throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: url must be a postgres://user@host:port/database URL, got ${JSON.stringify(options?.url)}`)
  }
  if (typeof options.table !== 'string' || !IDENTIFIER.test(options.table)) {
    throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: table must be a plain (optionally schema-qualified) identifier, got ${JSON.stringify(options.table)}`)
  }
  if (!Array.isArray(options.columns) || options.columns.length === 0 || !options.columns.every((c) => typeof c === 'string' && IDENTIFIER.test(c) && !c.includes('.'))) {
    throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: columns must be a non-empty list of column names, got ${JSON.stringify(options.columns)}`)
  }
  const mode = options.mode ?? 'exactly-once'
  if (!POSTGRES_SINK_MODES.includes(mode)) throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: mode must be one of ${POSTGRES_SINK_MODES.join(', ')}, got ${JSON.stringify(mode)}`)
  const keyColumns = options.keyColumns ?? []
  if (mode === 'upsert') {
    if (keyColumns.length === 0) throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: mode 'upsert' needs keyColumns (the columns of a unique index, for ON CONFLICT)`)
    for (const k of keyColumns) if (!options.columns.includes(k)) throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: key column '${k}' is not one of columns ${JSON.stringify(options.columns)}`)
  }
  const positive = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback
    if (!Number.isInteger(v) || v <= 0) throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: ${name} must be a positive integer, got ${JSON.stringify(value)}`)
    return v
  }
  const progressTable = options.progressTable ?? 'weir_sink_progress'
  if (!IDENTIFIER.test(progressTable)) throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: progressTable must be an identifier, got ${JSON.stringify(progressTable)}`)
  const columns = options.columns
  const row = options.row ?? ((record: T) => (Array.isArray(record) ? record : columns.map((c) => (record as Record<string, unknown>)[c])))
  return {
    url: options.url, table: options.table, columns, row, mode, keyColumns,
    createTable: options.createTable ?? null,
    batchRows: positive('batchRows', options.batchRows, 5000),
    maxBatchesInFlight: positive('maxBatchesInFlight', options.maxBatchesInFlight, 4),
    progressTable,
    maxCommitRetries: options.maxCommitRetries ?? 3,
  }
}
