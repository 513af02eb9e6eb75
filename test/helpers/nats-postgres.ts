// For test files that run a job from a JetStream stream into a PostgreSQL table: starts both
// servers (by PID, on loopback) before the file's tests, connects a NATS client and a
// PostgreSQL admin client, and stops everything, the file's Weir processes included, after them.

import { before, after } from 'node:test'
import pg from 'pg'
import type { NatsConnection } from '@nats-io/transport-node'
import { startNats, startPostgres, type NatsServer, type PostgresServer } from './services.ts'
import { natsConnection } from './jetstream.ts'
import type { WeirProcesses } from './weir-process.ts'

export interface NatsAndPostgres {
  readonly nats: NatsServer
  readonly postgres: PostgresServer
  /** A client of the NATS server, for publishing and reading streams. */
  readonly nc: NatsConnection
  /** A client of the PostgreSQL server, for reading what a job wrote. */
  readonly admin: pg.Client
}

/** Registers the file's before/after hooks; the returned object is filled in before the first test. */
export function useNatsAndPostgres(processes: WeirProcesses): NatsAndPostgres {
  const servers = {} as { -readonly [K in keyof NatsAndPostgres]: NatsAndPostgres[K] }
  before(async () => {
    processes.ensureBuilt()
    ;[servers.nats, servers.postgres] = await Promise.all([startNats(), startPostgres()])
    servers.nc = await natsConnection(servers.nats.url)
    servers.admin = new pg.Client({ connectionString: servers.postgres.url })
    await servers.admin.connect()
  })
  after(async () => {
    processes.stopAll()
    await servers.nc?.close()
    await servers.admin?.end()
    await Promise.allSettled([servers.nats?.stop(), servers.postgres?.stop()])
  })
  return servers
}
