// The states registered in one LMDB backend: each state name's table (its layers of writes, read
// cache and TTL setting, write-generations.ts) and the small integer id its LMDB keys carry
// (lmdb-key-layout.ts). Ids are given at registration and recorded in snapshots; a restore
// asks for a snapshot's id so that an incremental chain's files keep meaning the same state,
// and gets another one when that id is taken already.

import type { StateKind } from '../../api/state.ts'
import { checkDescriptorKind } from '../keyed-state-backend.ts'
import { UserError } from '../../errors.ts'
import { NO_GENERATIONS, type Table } from './write-generations.ts'
import { CLEANUP_EVERY } from './ttl-maintenance.ts'

/** The largest state id given (a u16 in the key layout; 0xffff stays unused). */
export const MAX_STATE_ID = 0xfffe

export class StateTables {
  private readonly byName = new Map<string, Table>()
  private readonly byId = new Map<number, Table>()
  private nextId = 1

  /** States registered. */
  get size(): number {
    return this.byName.size
  }

  get(name: string): Table | undefined {
    return this.byName.get(name)
  }

  values(): IterableIterator<Table> {
    return this.byName.values()
  }

  /** A new state `name`, with id `preferredId` if it is free, else the lowest free one from the next id on. */
  create(name: string, kind: StateKind, timestamped: boolean, preferredId: number | null): Table {
    let id = preferredId !== null && !this.byId.has(preferredId) ? preferredId : this.nextId
    while (this.byId.has(id)) id++
    if (id > MAX_STATE_ID) throw new UserError('WEIR_INVALID_JOB', `too many keyed states in one operator (the lmdb backend numbers them up to ${MAX_STATE_ID})`)
    this.nextId = Math.max(this.nextId, id + 1)
    const table: Table = { name, id, kind, ttl: null, timestamped, pending: new Map(), frozen: NO_GENERATIONS, committing: NO_GENERATIONS, cache: new Map(), lastBatch: null, cleanupCursor: null, cleanupCountdown: CLEANUP_EVERY, state: null }
    this.byName.set(name, table)
    this.byId.set(id, table)
    return table
  }

  /** The table a restored state `name` loads into: the registered one (of the same kind), or a new one. */
  forRestore(name: string, kind: StateKind, timestamped: boolean, preferredId: number | null): Table {
    const table = this.byName.get(name)
    if (table) {
      checkDescriptorKind(name, table.kind, kind)
      return table
    }
    return this.create(name, kind, timestamped, preferredId)
  }
}
