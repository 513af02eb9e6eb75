// The connection of a PostgreSQL sink writer that writes while records flow (the upsert,
// at-least-once and exactly-once modes): statements are queued in order on one connection,
// the writer holds input back while more than `maxBatchesInFlight` batches are queued, and the
// task hears of a failure, or of the queue draining below the bound, through its mailbox.

import type { SinkWriterContext } from '../../api/sink.ts'
import type { WeirError } from '../../errors.ts'
import { OrderedConnection } from './connection.ts'

export class WriterConnection {
  readonly conn: OrderedConnection
  private wasBusy = false

  constructor(url: string, describe: string, private readonly ctx: SinkWriterContext, private readonly maxBatchesInFlight: number) {
    this.conn = new OrderedConnection(url, describe, (failure) => this.settled(failure))
  }

  /** Too many batches queued: the task stops feeding the writer until some are written. */
  isBusy(): boolean {
    const busy = this.conn.inFlight > this.maxBatchesInFlight
    if (busy) this.wasBusy = true
    return busy
  }

  /** Waits for what is queued, closes, and throws the connection's failure if there was one. */
  async end(): Promise<void> {
    await this.conn.end()
    if (this.conn.failure) throw this.conn.failure
  }

  private settled(failure: WeirError | null): void {
    if (failure) {
      this.ctx.post(() => {
        throw failure
      })
    } else if (this.wasBusy && this.conn.inFlight <= this.maxBatchesInFlight) {
      // An empty action wakes the task, which asks isBusy() again.
      this.wasBusy = false
      this.ctx.post(() => {})
    }
  }
}
