// The worker threads a TaskManager runs its slots in, and its spares: threads started ahead of
// need that have already loaded Weir's runtime, so that a deployment (above all the one after a
// failure, which the job waits for) does not pay a thread's start and the loading of the
// runtime's modules, a few hundred milliseconds per thread and more on a busy machine.
//
// A thread runs the slots of one deployment and is terminated when they stop; it is never
// handed out again, whatever state its slots left behind (a canceled task may leave timers,
// sockets or a native transaction). The pool starts fresh spares instead, one at a time once the
// new deployment's slots run, so that refilling does not compete with their start.
//
// Protocol with a thread (slot-worker.ts): its first message from the TaskManager is
// { host: HostedSlot[] }, its slots; then SlotEnvelopes. A spare says { spare: 'ready' } once
// it has loaded the runtime. Idle spares are unref'd: they never keep a process alive.

import { Worker } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { codeFile, FROM_SOURCES } from '../../package-layout.ts'
import { slotThreadExecArgv } from './worker-exec-argv.ts'

const WORKER_ENTRY = pathToFileURL(codeFile('runtime/taskmanager/slot-worker'))

/**
 * The worker's entry. Built code starts the .js entry directly; when Weir itself runs from its
 * TypeScript sources (tests, development), loader hooks do not reach workers on Node 20, so the
 * worker first registers tsx and then imports the .ts entry.
 */
function workerEntry(): [URL | string, { eval?: boolean; execArgv?: string[] }] {
  if (!FROM_SOURCES) return [WORKER_ENTRY, { execArgv: slotThreadExecArgv() }]
  const tsx = import.meta.resolve('tsx/esm/api')
  return [`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_ENTRY.href)}) })`, { eval: true }]
}

/** What a thread is told in workerData. */
export interface SlotThreadData {
  /** A spare: load the runtime's entry now and say so, then wait for slots. */
  readonly spare: boolean
}

/** The message a spare sends once it has loaded the runtime. */
export interface SpareReady {
  readonly spare: 'ready'
}

interface Spare {
  readonly worker: Worker
  ready: boolean
  /** Settles when the spare is ready, gone, or handed out. */
  readonly settled: Promise<void>
  readonly settle: () => void
  readonly onMessage: (m: unknown) => void
  readonly onGone: () => void
}

/** How long closing waits for a spare still loading before terminating it anyway. */
const SPARE_CLOSE_GRACE_MS = 20_000

export class SlotThreadPool {
  private readonly spares = new Set<Spare>()
  private closed = false
  /** Threads this pool started, spares and fresh ones. */
  started = 0
  /** Threads this pool started that have not exited yet (handed out or spare): no thread leaks. */
  live = 0
  /** Threads handed out that were spares (the others were started on demand). */
  handedOutSpares = 0
  /** Why the latest spare died while idle, if one did (a deployment then starts a fresh thread, which reports the cause to its job). */
  lastSpareError: Error | null = null

  /** `size`: spares kept started (0: none; every thread starts on demand). */
  constructor(readonly size: number) {
    this.refill()
  }

  /** Spares started, whether they finished loading or not. */
  get spareCount(): number {
    return this.spares.size
  }

  /** Resolves when every spare started so far has loaded the runtime (or died trying). */
  async whenReady(): Promise<void> {
    // Idle spares are unref'd: held here, so that the process waits for them.
    await Promise.all([...this.spares].map(async (s) => {
      s.worker.ref()
      await s.settled
      if (this.spares.has(s)) s.worker.unref()
    }))
  }

  /** Spares that have loaded the runtime. */
  get readySpares(): number {
    let n = 0
    for (const s of this.spares) if (s.ready) n++
    return n
  }

  /**
   * A thread for one deployment's slots: a spare if one is started (a ready one first; one still
   * loading is further on than a new thread), else a new thread.
   */
  take(name: string): Worker {
    let chosen: Spare | null = null
    for (const s of this.spares) {
      // One that exited has threadId -1 (its exit event may not have run yet).
      if (s.worker.threadId === -1) continue
      if (s.ready) {
        chosen = s
        break
      }
      chosen ??= s
    }
    if (chosen) {
      this.spares.delete(chosen)
      chosen.worker.off('message', chosen.onMessage)
      chosen.worker.off('error', chosen.onGone)
      chosen.worker.off('exit', chosen.onGone)
      chosen.worker.ref()
      chosen.settle()
      this.handedOutSpares++
      return chosen.worker
    }
    return this.start(false, name)
  }

  /** Starts spares, in the background and all at once, until `size` are started. */
  refill(): void {
    while (!this.closed && this.spares.size < this.size) this.startSpare()
  }

  private refilling = false

  /**
   * Starts spares until `size` are started, one after the other: next to running slots, at most
   * one thread loads the runtime at a time, so that refilling takes one core's share, not all.
   * A spare that dies while loading ends the refill (the next deployment tries again).
   */
  refillGradually(): void {
    if (this.refilling || this.closed || this.spares.size >= this.size) return
    this.refilling = true
    const spare = this.startSpare()
    void spare.settled.then(() => {
      this.refilling = false
      if (spare.ready) this.refillGradually()
    })
  }

  private startSpare(): Spare {
    const worker = this.start(true, 'weir-slot-spare')
    worker.unref()
    let settle!: () => void
    const spare: Spare = {
      worker, ready: false,
      settled: new Promise((resolve) => (settle = resolve)),
      settle: () => settle(),
      onMessage: (m) => {
        if ((m as SpareReady | null)?.spare !== 'ready') return
        spare.ready = true
        settle()
      },
      onGone: () => {
        this.spares.delete(spare)
        settle()
      },
    }
    worker.once('exit', settle)
    worker.on('message', spare.onMessage)
    worker.on('error', (e) => (this.lastSpareError = e))
    worker.once('error', spare.onGone)
    worker.once('exit', spare.onGone)
    this.spares.add(spare)
    return spare
  }

  /**
   * Terminates the spares; threads handed out are their deployments' to stop. A spare still
   * loading is terminated once it has loaded (or after SPARE_CLOSE_GRACE_MS): Node 20 aborts the
   * whole process when a thread is terminated while it starts a file-system promise, which
   * module loading does (see stopWorker in task-manager.ts).
   */
  async close(): Promise<void> {
    this.closed = true
    const spares = [...this.spares]
    this.spares.clear()
    await Promise.all(spares.map(async (s) => {
      if (!s.ready) await Promise.race([s.settled, new Promise((r) => setTimeout(r, SPARE_CLOSE_GRACE_MS).unref())])
      await s.worker.terminate()
    }))
  }

  private start(spare: boolean, name: string): Worker {
    const [entry, options] = workerEntry()
    this.started++
    this.live++
    const worker = new Worker(entry, { ...options, workerData: { spare } satisfies SlotThreadData, name })
    worker.once('exit', () => this.live--)
    return worker
  }
}
