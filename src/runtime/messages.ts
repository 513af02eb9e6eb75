// The messages between the JobManager (main thread) and the slot workers, and between
// workers. Plain objects, so that they cross a MessagePort or a socket as they are.

import type { SerializedError } from '../errors.ts'
import type { RawConfig } from '../config/configuration.ts'
import type { ChannelEvent } from './network/events.ts'

/** What a slot worker needs to rebuild the job and run its share. */
export interface WorkerSetup {
  readonly workerIndex: number
  readonly numWorkers: number
  /** file: URL of the bundled job module. */
  readonly artifactUrl: string
  readonly args: readonly string[]
  readonly config: RawConfig
  readonly attempt: number
  /** Send print() output to the main thread instead of writing fd 1 directly. */
  readonly routeStdout: boolean
}

export type ToWorker =
  | { readonly type: 'assign-splits'; readonly vertex: number; readonly subtask: number; readonly splits: unknown[] }
  | { readonly type: 'no-more-splits'; readonly vertex: number; readonly subtask: number }
  | { readonly type: 'cancel' }

export type FromWorker =
  | { readonly type: 'split-request'; readonly vertex: number; readonly subtask: number }
  | { readonly type: 'task-finished'; readonly vertex: number; readonly subtask: number }
  | { readonly type: 'failed'; readonly error: SerializedError }
  | { readonly type: 'metrics'; readonly recordsIn: number; readonly recordsOut: number }
  | { readonly type: 'stdout'; readonly text: string }
  | { readonly type: 'canceled' }

/** Between workers, on their peer ports: a batch, an event, or returned credit for a channel. */
export type PeerMessage =
  | { readonly c: number; readonly b: Uint8Array }
  | { readonly c: number; readonly e: ChannelEvent }
  | { readonly c: number; readonly k: number }
