// One PostgreSQL connection whose statements run strictly in order, queued without waiting,
// so that the task thread never blocks: the writer queues a batch and goes on. The first
// failure sticks (later statements are not run) and is reported once; `inFlight` lets the
// writer hold back input when the server falls behind.

import type pg from 'pg'
import type * as PgCopyStreams from 'pg-copy-streams'
import { lazyPackage } from '../../io/lazy-package.ts'
import { WeirError } from '../../errors.ts'

/** The PostgreSQL client, loaded when a job first connects (lazy-package.ts). */
export const pgClient = lazyPackage<typeof pg>('pg')
const pgCopyStreams = lazyPackage<typeof PgCopyStreams>('pg-copy-streams')

export class OrderedConnection {
  readonly client: pg.Client
  private chain: Promise<void> = Promise.resolve()
  inFlight = 0
  failure: WeirError | null = null
  private ended = false

  constructor(url: string, private readonly describe: string, private readonly onSettled: (failure: WeirError | null) => void) {
    this.client = new (pgClient().Client)({ connectionString: url })
    // Errors of an idle connection (server restart) surface on the next statement.
    this.client.on('error', (e) => this.fail(e, 'the connection'))
  }

  /** Queues `op`; the promise settles when it ran (rejects with the sticky failure). */
  run<R>(what: string, op: (client: pg.Client) => Promise<R>): Promise<R> {
    this.inFlight++
    const result = this.chain.then(() => {
      if (this.failure) throw this.failure
      return op(this.client)
    })
    this.chain = result.then(
      () => {
        this.inFlight--
        this.onSettled(null)
      },
      (e: unknown) => {
        this.inFlight--
        this.fail(e, what)
        this.onSettled(this.failure)
      },
    )
    return result.catch((e: unknown) => {
      throw this.failure ?? e
    })
  }

  private fail(e: unknown, what: string): void {
    if (this.failure || this.ended) return
    const pgError = e as { code?: string; message?: string }
    this.failure = e instanceof WeirError ? e : new WeirError('WEIR_SINK_FAILED', `${this.describe}: ${what} failed: ${pgError.message ?? String(e)}${pgError.code ? ` (SQLSTATE ${pgError.code})` : ''}`, { cause: e, domain: 'external', retriable: true })
  }

  /** Waits for what is queued, then closes the connection. */
  async end(): Promise<void> {
    await this.chain
    this.ended = true
    await this.client.end().catch(() => {})
  }

  /** Closes at once (the task failed); the server rolls back an open transaction. */
  destroy(): void {
    this.ended = true
    const socket = (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
    socket?.destroy()
    this.client.end().catch(() => {})
  }
}

/** COPY <table> (<columns>) FROM STDIN with `text` (COPY text format). */
export function copyIn(client: pg.Client, table: string, columns: readonly string[], text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.query(pgCopyStreams().from(`COPY ${table} (${columns.join(', ')}) FROM STDIN`))
    stream.on('error', reject)
    stream.on('finish', () => resolve())
    stream.end(text)
  })
}
