// The LMDB backend's commits in flight: a commit hands its generations of writes to lmdb-js as one
// asynchronous batch (encoded on the task thread, written and committed by lmdb-js's write
// thread), and until LMDB holds them the generations stay readable in memory as the states'
// "committing" layer (write-generations.ts): below the pending and frozen writes and the read
// cache, above LMDB. Moving the B-tree work off the task thread was 1.36x the update rate of
// synchronous commits in one run (Zipf 1 M keys and uniform 2 M keys alike).
//
// When a batch has landed is known two ways: its promise (when the task yields to the event
// loop), and synchronously, without waiting for the event loop, by a marker entry the batch
// writes last (its sequence number under COMMIT_MARKER_KEY, outside every state's keys):
// once a fresh read transaction sees it, LMDB holds that batch and every one before it
// (lmdb-js commits in order). A task that never yields, and flush(), restore and dispose, which
// must see LMDB complete, use the marker. A batch that fails becomes a typed error (`failure`)
// that the next commit, flush or capture throws: the task fails, no write is lost in silence.

import type { RootDatabase } from 'lmdb'
import { WeirError } from '../../errors.ts'
import { COMMIT_MARKER_KEY } from './lmdb-key-layout.ts'
import { NO_GENERATIONS, type Table } from './write-generations.ts'

/** Commits in flight at most: the next one waits until the oldest has landed (back-pressure). */
export const MAX_COMMITS_IN_FLIGHT = 2
/**
 * Bytes of writes in flight at most by default (value bytes, plus WRITE_OVERHEAD_BYTES a write):
 * past it, a commit waits until the older batches have landed, so that batches of large values
 * (a batch is bounded in entries, not in bytes) do not hold two of them in memory at once.
 */
export const MAX_BYTES_IN_FLIGHT = 64 * 2 ** 20
/** What a write in flight holds besides its value: its key in lmdb-js's buffer, lmdb-js's record of it, its entry in the committing layer. */
export const WRITE_OVERHEAD_BYTES = 128
/**
 * Batches of fewer writes commit synchronously (after the ones in flight) by default: they are
 * cheap, and an asynchronous one costs marker writes, a committing layer and a wake-up of the
 * write thread. The backend's `asyncMinWrites` option changes it (tests: 0 sends every commit,
 * however small, to the write thread).
 */
export const ASYNC_MIN_WRITES = 4096
/** A synchronous wait gives up (a failed commit whose rejection the event loop has not delivered) after this long. */
export const COMMIT_WAIT_LIMIT_MS = 60_000

interface Batch {
  readonly seq: number
  /** Its value bytes plus WRITE_OVERHEAD_BYTES per write. */
  readonly bytes: number
  /** Per state, how many generations this batch added to its committing layer. */
  readonly added: Map<Table, number>
}

export class CommitsInFlight {
  /** Batches handed to lmdb-js and not known to have landed, oldest first. */
  private readonly batches: Batch[] = []
  private seq = 0
  private landed = 0
  /** Generations whose keys a commit noted as changed for the next incremental checkpoint (pending ones, not frozen). */
  readonly changes = new WeakSet<ReadonlyMap<unknown, unknown>>()
  /** Why a commit failed; thrown by every later commit, flush and capture. */
  failure: WeirError | null = null
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4))

  /** Batches committed asynchronously so far. */
  asyncBatches = 0

  /** Bytes of the batches in flight (Batch.bytes). */
  bytesInFlight = 0

  /**
   * `valueBytes`: the value bytes commits have handed to lmdb-js so far (what a batch adds is its
   * share); `asyncMinWrites`: batches of fewer writes commit synchronously; `maxBytesInFlight`:
   * past this many bytes in flight a commit waits for the older batches (one may always be).
   */
  constructor(
    private readonly db: RootDatabase<Buffer, any>,
    private readonly valueBytes: () => number = () => 0,
    private readonly asyncMinWrites: number = ASYNC_MIN_WRITES,
    private readonly maxBytesInFlight: number = MAX_BYTES_IN_FLIGHT,
  ) {}

  /** Whether any commit is in flight. */
  get busy(): boolean {
    return this.batches.length > 0
  }

  /** Commits in flight. */
  get inFlight(): number {
    return this.batches.length
  }

  /**
   * Commits a batch: `write` issues its puts and removes (at least `writes` of them). A large
   * batch goes to lmdb-js asynchronously (encoded now, applied by its write thread), then the
   * marker is written, and `gens` (per state, newest first) become the top of the states'
   * committing layers until it lands; a small one is committed at once, in a synchronous
   * transaction after every batch in flight has landed (so that it never lands before them).
   * Waits first while MAX_COMMITS_IN_FLIGHT are in flight; throws an earlier batch's failure.
   */
  commit(write: () => void, gens: ReadonlyMap<Table, ReadonlyArray<Map<unknown, unknown>>>, writes: number): void {
    if (writes < this.asyncMinWrites) {
      this.settle()
      this.db.transactionSync(write)
      return
    }
    this.waitUntilFewer(MAX_COMMITS_IN_FLIGHT)
    const seq = ++this.seq
    this.asyncBatches++
    const marker = Buffer.allocUnsafe(8)
    marker.writeDoubleBE(seq, 0)
    const valuesBefore = this.valueBytes()
    const landed = this.db.batch(() => {
      write()
      // Twice: a batch of fewer than two writes (every write held back) would not start
      // without the event loop (working-environment.ts).
      void this.db.put(COMMIT_MARKER_KEY, marker)
      void this.db.put(COMMIT_MARKER_KEY, marker)
    })
    const added = new Map<Table, number>()
    for (const [table, list] of gens) {
      if (list.length === 0) continue
      table.committing = table.committing.length === 0 ? list : [...list, ...table.committing]
      added.set(table, list.length)
    }
    const bytes = this.valueBytes() - valuesBefore + writes * WRITE_OVERHEAD_BYTES
    this.batches.push({ seq, bytes, added })
    this.bytesInFlight += bytes
    this.watch(landed, seq)
    if (this.bytesInFlight > this.maxBytesInFlight) this.waitWhileOverBudget()
  }

  /**
   * Notes when batch `seq` lands or fails. The handlers are made here, not in commit(): closures
   * made in one function share its captured variables, so handlers made beside the batch's
   * callback kept `write` and with it the batch's generations reachable until the event loop
   * ran them, after the batch had landed; a task that did not yield kept every batch it had
   * committed (uniform 1 M keys: 123 MB live after a flush, against 21 MB).
   */
  private watch(landed: PromiseLike<unknown>, seq: number): void {
    landed.then(
      () => this.landedUpTo(seq),
      (error: unknown) => {
        this.failure ??= new WeirError('WEIR_STATE_COMMIT_FAILED', `the lmdb state backend could not commit its writes (batch ${seq}): ${error instanceof Error ? error.message : String(error)}`, { cause: error, domain: 'external', retriable: true })
      },
    )
  }

  /** Waits (blocking) until the batches in flight hold at most maxBytesInFlight, or only one is left. */
  private waitWhileOverBudget(): void {
    // Each wait returns once the oldest has landed at least (or throws: a failure, or too long).
    while (this.bytesInFlight > this.maxBytesInFlight && this.batches.length > 1) this.waitUntilFewer(this.batches.length)
  }

  /** Throws the failure of an earlier commit, if any. */
  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure
  }

  /** Drops the batches LMDB holds (read synchronously from the marker); throws an earlier batch's failure. */
  poll(): void {
    this.throwIfFailed()
    if (this.batches.length === 0) return
    this.db.resetReadTxn() // a fresh view: the marker of a batch landed since the last read
    const bytes = this.db.getBinaryFast(COMMIT_MARKER_KEY)
    if (bytes !== undefined && bytes.length >= 8) this.landedUpTo(bytes.readDoubleBE(0))
  }

  /** Waits (blocking) until fewer than `max` batches are in flight; 0: until none is. */
  waitUntilFewer(max: number): void {
    this.poll()
    if (this.batches.length <= Math.max(0, max - 1)) return
    const until = performance.now() + COMMIT_WAIT_LIMIT_MS
    let sleepMs = 0.05
    while (this.batches.length > Math.max(0, max - 1)) {
      this.throwIfFailed()
      if (performance.now() > until) {
        throw new WeirError('WEIR_STATE_COMMIT_FAILED', `the lmdb state backend's commit ${this.batches[0]!.seq} did not land within ${COMMIT_WAIT_LIMIT_MS} ms`, { domain: 'external', retriable: true })
      }
      Atomics.wait(this.sleeper, 0, 0, sleepMs)
      sleepMs = Math.min(sleepMs * 2, 2)
      this.poll()
    }
  }

  /** Waits until LMDB holds every batch, then throws a failure if one failed. */
  settle(): void {
    this.throwIfFailed()
    this.waitUntilFewer(0)
  }

  /** Forgets the batches in flight (the backend is disposed). */
  abandon(tables: Iterable<Table>): void {
    this.batches.length = 0
    this.bytesInFlight = 0
    for (const t of tables) t.committing = NO_GENERATIONS
  }

  private landedUpTo(seq: number): void {
    if (seq <= this.landed) return
    this.landed = seq
    let dropped = false
    while (this.batches.length > 0 && this.batches[0]!.seq <= seq) {
      const batch = this.batches.shift()!
      this.bytesInFlight -= batch.bytes
      for (const [table, count] of batch.added) {
        // The oldest generations are last; a capture may hold the array: make a new one.
        table.committing = table.committing.length <= count ? NO_GENERATIONS : table.committing.slice(0, table.committing.length - count)
      }
      dropped = true
    }
    // Reads of keys no committing layer holds any more must see LMDB's state after the batch.
    if (dropped) this.db.resetReadTxn()
  }
}
