// The connection of a PostgreSQL sink's committer (exactly-once, write-ahead): opened on the
// first commit, set up once, and dropped after a failure, so that the next commit (the job's
// retry, or a restore repeating it) connects afresh.

import type pg from 'pg'
import { pgClient } from './connection.ts'

export class CommitterConnection {
  private client: pg.Client | null = null
  private ready = false

  /** `setUp` runs on the first connection only (tables the committer needs). */
  constructor(private readonly url: string, private readonly setUp: (client: pg.Client) => Promise<void> = async () => {}) {}

  async get(): Promise<pg.Client> {
    if (this.client) return this.client
    const client = new (pgClient().Client)({ connectionString: this.url })
    client.on('error', () => {
      if (this.client === client) this.client = null
    })
    try {
      await client.connect()
      if (!this.ready) {
        await this.setUp(client)
        this.ready = true
      }
    } catch (e) {
      client.end().catch(() => {})
      throw e
    }
    this.client = client
    return client
  }

  /** After a failure: the next commit reconnects. */
  drop(): void {
    this.client?.end().catch(() => {})
    this.client = null
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => {})
    this.client = null
  }
}
