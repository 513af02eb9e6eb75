// Typed errors for Weir: one base class with a code, a domain and a retry hint, so that
// callers (the CLI, restart strategies, tests) branch on codes instead of message text.

/** Every error code Weir raises. */
export const ERROR_CODES = [
  'WEIR_USER_FUNCTION_FAILED',
  'WEIR_INVALID_ARGUMENT',
  'WEIR_INVALID_CONFIG',
  'WEIR_INVALID_JOB',
  'WEIR_INVALID_INPUT',
  'WEIR_SOURCE_FAILED',
  'WEIR_SINK_FAILED',
  'WEIR_SERIALIZATION_FAILED',
  'WEIR_JOB_CANCELED',
  'WEIR_WORKER_LOST',
  'WEIR_NETWORK_FRAME_INVALID',
  'WEIR_NETWORK_LINK_LOST',
  'WEIR_NOT_ENOUGH_SLOTS',
  'WEIR_TASKMANAGER_LOST',
  'WEIR_RPC_FRAME_INVALID',
  'WEIR_CHECKPOINT_FAILED',
  'WEIR_CHECKPOINT_CORRUPT',
  'WEIR_STORAGE_FAILED',
  'WEIR_RESTORE_FAILED',
  /** The LMDB state backend could not commit a batch of writes (its write thread failed): the task fails and restarts from a checkpoint. */
  'WEIR_STATE_COMMIT_FAILED',
  /** A restore from a checkpoint older than one whose output an exactly-once sink already committed (it would duplicate output). */
  'WEIR_RESTORE_BEHIND_COMMITTED_OUTPUT',
  'WEIR_RESTARTS_EXHAUSTED',
  'WEIR_INTERNAL',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** Who is at fault: the user's code or input, something outside (network, disk), or Weir. */
export type ErrorDomain = 'user' | 'external' | 'internal'

const brand = Symbol.for('weir.error')

export interface WeirErrorOptions {
  cause?: unknown
  domain?: ErrorDomain
  retriable?: boolean
}

export class WeirError extends Error {
  readonly code: ErrorCode
  readonly domain: ErrorDomain
  /** Whether trying again (a restart) can help. */
  readonly retriable: boolean
  readonly [brand] = true

  constructor(code: ErrorCode, message: string, options: WeirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'WeirError'
    this.code = code
    this.domain = options.domain ?? 'internal'
    this.retriable = options.retriable ?? false
  }
}

/** True for any WeirError, also one created by another copy of this module. */
export function isWeirError(value: unknown): value is WeirError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
}

/** A mistake in what the user asked for: an option, a value, a job definition. */
export class UserError extends WeirError {
  constructor(code: ErrorCode, message: string, options: WeirErrorOptions = {}) {
    super(code, message, { domain: 'user', ...options })
    this.name = 'UserError'
  }
}

/** Where in a running job something failed. */
export interface TaskLocation {
  jobName: string
  operatorName: string
  uid: string
  subtaskIndex: number
  parallelism: number
  attempt: number
}

export function describeLocation(at: TaskLocation): string {
  return `job '${at.jobName}', operator '${at.operatorName}' (uid ${at.uid}), subtask ${at.subtaskIndex + 1}/${at.parallelism}`
}

/** A user function threw. Carries the user's stack, and where it ran. */
export class UserFunctionError extends WeirError {
  readonly location: TaskLocation
  readonly userStack: string

  constructor(location: TaskLocation, cause: unknown) {
    const inner = cause instanceof Error ? cause : new Error(String(cause))
    super('WEIR_USER_FUNCTION_FAILED', `${describeLocation(location)} failed: ${inner.message}`, {
      cause: inner,
      domain: 'user',
      retriable: true,
    })
    this.name = 'UserFunctionError'
    this.location = location
    this.userStack = inner.stack ?? `${inner.name}: ${inner.message}`
  }
}

/** A plain, cloneable description of an error, for crossing thread and process boundaries. */
export interface SerializedError {
  name: string
  code: ErrorCode
  domain: ErrorDomain
  retriable: boolean
  message: string
  stack?: string
  userStack?: string
  location?: TaskLocation
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof UserFunctionError) {
    return {
      name: error.name, code: error.code, domain: error.domain, retriable: error.retriable,
      message: error.message, stack: error.stack, userStack: error.userStack, location: error.location,
    }
  }
  if (isWeirError(error)) {
    return { name: error.name, code: error.code, domain: error.domain, retriable: error.retriable, message: error.message, stack: error.stack }
  }
  const e = error instanceof Error ? error : new Error(String(error))
  return { name: e.name, code: 'WEIR_INTERNAL', domain: 'internal', retriable: true, message: e.message, stack: e.stack }
}

/** Rebuilds a WeirError on the receiving side of a boundary, keeping code and stacks. */
export function deserializeError(s: SerializedError): WeirError {
  const e = new WeirError(s.code, s.message, { domain: s.domain, retriable: s.retriable })
  e.name = s.name
  if (s.stack) e.stack = s.stack
  Object.assign(e, { userStack: s.userStack, location: s.location })
  return e
}
