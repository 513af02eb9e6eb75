// Asynchronous operations as Flink answers them: a trigger returns a request id; the status
// route returns IN_PROGRESS, then COMPLETED with either the result or a failure cause.

import type { JobEntry, Operation, OperationKind } from '../job-registry.ts'
import { badRequest, conflict, notFound } from '../rest-error.ts'

const TRIGGER_ID = /^[0-9a-f]{32}$/

/** The reply for GET .../:triggerid; marks a completed outcome as seen. */
export function operationReply(entry: JobEntry, triggerId: string, kinds: readonly OperationKind[]): Record<string, unknown> {
  const op = entry.operations.get(triggerId)
  if (!op || !kinds.includes(op.kind)) {
    const what = kinds.includes('checkpoint') ? 'checkpoint' : 'savepoint or stop'
    throw notFound(`no ${what} operation with trigger id '${triggerId}' for job ${entry.job.jobId}; use the request-id its POST returned`)
  }
  if (op.status === 'IN_PROGRESS') return { status: { id: 'IN_PROGRESS' } }
  op.observed = true
  return { status: { id: 'COMPLETED' }, operation: operationResult(op) }
}

function operationResult(op: Operation): Record<string, unknown> {
  if (op.failure) {
    const f = op.failure
    return {
      'failure-cause': {
        class: f.name,
        ...(f.code ? { code: f.code } : {}),
        message: f.message,
        'stack-trace': f.stack ?? `${f.name}: ${f.message}`,
      },
    }
  }
  if (op.kind === 'checkpoint') return { checkpointId: op.checkpointId }
  return { location: op.location }
}

/**
 * A client-chosen triggerId (Flink's idempotent retry): the operation already started under it,
 * if any. A triggerId that is malformed or names another kind of operation is an error.
 */
export function reuseOperation(entry: JobEntry, triggerId: string | undefined, kind: OperationKind): Operation | null {
  if (triggerId === undefined) return null
  if (!TRIGGER_ID.test(triggerId)) throw badRequest(`triggerId '${triggerId}' is not valid: use 32 lowercase hexadecimal characters`)
  const op = entry.operations.get(triggerId)
  if (!op) return null
  if (op.kind !== kind) throw conflict(`triggerId ${triggerId} is already used by a ${op.kind} operation of job ${entry.job.jobId}`)
  return op
}
