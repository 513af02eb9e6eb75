// Every message between the JobManager and a TaskManager, and its validation on receipt. A
// message that does not have exactly the shape of its type is refused (the connection is
// closed with the reason), so that a foreign or damaged peer cannot make either side act on
// garbage.

import type { FromWorker, ToWorker } from '../runtime/messages.ts'
import type { AttemptDeployment } from '../runtime/taskmanager/task-manager.ts'
import type { SerializedError } from '../errors.ts'

/** TaskManager -> JobManager. */
export type TaskManagerMessage =
  | { readonly type: 'register'; readonly taskManagerId: string; readonly numSlots: number; readonly host: string; readonly dataPort: number; readonly pid: number }
  | { readonly type: 'heartbeat' }
  | { readonly type: 'slot-message'; readonly attemptId: string; readonly slot: number; readonly message: FromWorker }
  | { readonly type: 'slot-lost'; readonly attemptId: string; readonly slot: number; readonly error: SerializedError }
  | { readonly type: 'released'; readonly attemptId: string }

/** JobManager -> TaskManager. */
export type JobManagerMessage =
  | { readonly type: 'registered'; readonly jobManagerId: string; readonly heartbeatIntervalMs: number; readonly heartbeatTimeoutMs: number }
  | { readonly type: 'refused'; readonly reason: string }
  | { readonly type: 'heartbeat' }
  | { readonly type: 'deploy'; readonly jobId: string; readonly artifact: Uint8Array; readonly deployment: AttemptDeployment }
  | { readonly type: 'to-slot'; readonly attemptId: string; readonly slot: number; readonly message: ToWorker }
  | { readonly type: 'release'; readonly attemptId: string }

const FROM_WORKER = new Set(['split-request', 'task-ended', 'slot-running', 'task-finished', 'ack', 'decline', 'failed', 'metrics', 'stdout', 'log', 'canceled', 'data-address'])
const TO_WORKER = new Set(['assign-splits', 'no-more-splits', 'cancel', 'trigger-checkpoint', 'checkpoint-complete', 'checkpoint-aborted', 'finish', 'stop-tasks', 'drain-sources', 'connect-peers'])

type Check = (m: Record<string, unknown>) => string | null

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (k: string): Check => (m) => (typeof m[k] === 'string' && (m[k] as string).length > 0 ? null : `'${k}' must be a non-empty string`)
const nat = (k: string): Check => (m) => (Number.isSafeInteger(m[k]) && (m[k] as number) >= 0 ? null : `'${k}' must be a non-negative integer`)
const bytes = (k: string): Check => (m) => (m[k] instanceof Uint8Array ? null : `'${k}' must be bytes`)
const oneOf = (k: string, allowed: Set<string>): Check => (m) => (isObject(m[k]) && allowed.has((m[k] as Record<string, unknown>).type as string) ? null : `'${k}' must be a message of a known type`)
const obj = (k: string): Check => (m) => (isObject(m[k]) ? null : `'${k}' must be an object`)
const deployment: Check = (m) => {
  const d = m.deployment
  if (!isObject(d) || typeof d.attemptId !== 'string' || !Array.isArray(d.slots) || !Array.isArray(d.locations)) return "'deployment' must have attemptId, slots and locations"
  for (const s of d.slots as unknown[]) if (!isObject(s) || !Number.isSafeInteger(s.slot) || !isObject(s.setup)) return "'deployment.slots' must be { slot, setup } entries"
  for (const l of d.locations as unknown[]) if (!isObject(l) || typeof l.taskManagerId !== 'string') return "'deployment.locations' must be { taskManagerId } entries"
  return null
}

const TASK_MANAGER_MESSAGES: Record<string, Check[]> = {
  register: [str('taskManagerId'), nat('numSlots'), str('host'), nat('dataPort'), nat('pid')],
  heartbeat: [],
  'slot-message': [str('attemptId'), nat('slot'), oneOf('message', FROM_WORKER)],
  'slot-lost': [str('attemptId'), nat('slot'), obj('error')],
  released: [str('attemptId')],
}

const JOB_MANAGER_MESSAGES: Record<string, Check[]> = {
  registered: [str('jobManagerId'), nat('heartbeatIntervalMs'), nat('heartbeatTimeoutMs')],
  refused: [str('reason')],
  heartbeat: [],
  deploy: [str('jobId'), bytes('artifact'), deployment],
  'to-slot': [str('attemptId'), nat('slot'), oneOf('message', TO_WORKER)],
  release: [str('attemptId')],
}

function validate<T>(message: unknown, table: Record<string, Check[]>, side: string): T {
  if (!isObject(message)) throw new Error(`${side} message is not an object`)
  const type = message.type
  if (typeof type !== 'string' || !Object.hasOwn(table, type)) throw new Error(`unknown ${side} message type '${String(type)}'`)
  for (const check of table[type]!) {
    const problem = check(message)
    if (problem) throw new Error(`malformed '${type}' message: ${problem}`)
  }
  return message as T
}

/** Validates what a TaskManager sent; throws an Error naming what is wrong. */
export function validateTaskManagerMessage(message: unknown): TaskManagerMessage {
  return validate(message, TASK_MANAGER_MESSAGES, 'TaskManager')
}

/** Validates what the JobManager sent; throws an Error naming what is wrong. */
export function validateJobManagerMessage(message: unknown): JobManagerMessage {
  return validate(message, JOB_MANAGER_MESSAGES, 'JobManager')
}
