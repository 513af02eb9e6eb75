// Savepoints and stop-with-savepoint (Flink's POST /jobs/:jobid/savepoints and /stop, whose
// status both live under GET /jobs/:jobid/savepoints/:triggerid). Flink spells the directory
// field differently on the two routes ('target-directory' and 'targetDirectory'); so does Weir.

import { realpathSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { REST_SAVEPOINTS_ALLOW_ANY_TARGET, SAVEPOINTS_DIR } from '../../config/options.ts'
import type { JobEntry, OperationKind } from '../job-registry.ts'
import { accepted, jobEntry, ok, type Handler } from './context.ts'
import { BodyFields, readJsonBody } from '../http-util.ts'
import { badRequest, conflict } from '../rest-error.ts'
import { isS3Url, parseS3Url } from '../../checkpoint/storage/s3/s3-location.ts'
import { jobState } from './jobs.ts'
import { operationReply, reuseOperation } from './operations.ts'

/** POST /jobs/:jobid/savepoints {"target-directory"?, "cancel-job"?, "triggerId"?, "formatType"?} */
export const triggerSavepoint: Handler = async (ctx) => {
  const entry = jobEntry(ctx)
  const fields = new BodyFields(await readJsonBody(ctx.req), ['target-directory', 'cancel-job', 'triggerId', 'formatType'])
  checkFormat(fields.string('formatType'))
  const cancelJob = fields.boolean('cancel-job') ?? false
  const triggerId = fields.string('triggerId')
  const reused = reuseOperation(entry, triggerId, 'savepoint')
  if (reused) return accepted({ 'request-id': reused.triggerId })
  checkCanSavepoint(entry, 'a savepoint')
  const dir = targetDirectory(entry, fields.string('target-directory'), 'target-directory')
  if (cancelJob) entry.stopping = 'savepoint'
  const run = entry.job.triggerSavepoint(dir, { cancelJob }).then((location) => ({ location }))
  if (cancelJob) run.catch(() => (entry.stopping = null))
  const op = ctx.registry.startOperation(entry, 'savepoint', run, triggerId)
  return accepted({ 'request-id': op.triggerId })
}

/** POST /jobs/:jobid/stop {"targetDirectory"?, "drain"?, "triggerId"?, "formatType"?} */
export const stopWithSavepoint: Handler = async (ctx) => {
  const entry = jobEntry(ctx)
  const fields = new BodyFields(await readJsonBody(ctx.req), ['targetDirectory', 'drain', 'triggerId', 'formatType'])
  checkFormat(fields.string('formatType'))
  const drain = fields.boolean('drain') ?? false
  const triggerId = fields.string('triggerId')
  const reused = reuseOperation(entry, triggerId, 'stop')
  if (reused) return accepted({ 'request-id': reused.triggerId })
  checkCanSavepoint(entry, 'stop with savepoint')
  const dir = targetDirectory(entry, fields.string('targetDirectory'), 'targetDirectory')
  entry.stopping = 'stop'
  const run = entry.job.stopWithSavepoint(dir, { drain }).then((location) => ({ location }))
  run.catch(() => (entry.stopping = null))
  const op = ctx.registry.startOperation(entry, 'stop', run, triggerId)
  return accepted({ 'request-id': op.triggerId })
}

/** GET /jobs/:jobid/savepoints/:triggerid (savepoints and stops) */
export const savepointStatus: Handler = (ctx) => ok(operationReply(jobEntry(ctx), ctx.params['triggerid']!, ['savepoint', 'stop']))

function checkFormat(formatType: string | undefined): void {
  if (formatType !== undefined && formatType.toUpperCase() !== 'CANONICAL') {
    throw badRequest(`formatType '${formatType}' is not supported: Weir savepoints are always CANONICAL`)
  }
}

function checkCanSavepoint(entry: JobEntry, what: string): void {
  const id = entry.job.jobId
  const state = jobState(entry)
  if (state === 'CANCELLING') throw conflict(`job ${id} is being cancelled; ${what} is no longer possible`)
  if (state === 'RESTARTING') throw conflict(`job ${id} is restarting after a failure; try ${what} again once it is RUNNING`)
  if (state !== 'RUNNING') throw conflict(`job ${id} is ${state}; ${what} needs a running job`)
  if (entry.stopping !== null) {
    const pending = [...entry.operations.values()].find((o) => o.kind === entry.stopping && o.status === 'IN_PROGRESS')
    const how: Record<OperationKind, string> = { stop: 'stopped with a savepoint', savepoint: 'cancelled after a savepoint', checkpoint: '' }
    throw conflict(`job ${id} is being ${how[entry.stopping]}${pending ? ` (request-id ${pending.triggerId})` : ''}; ${what} is no longer possible`)
  }
}

/**
 * The savepoint directory of a request. A directory given in the request must lie inside
 * execution.checkpointing.savepoint-dir (a relative one is taken inside it), unless
 * rest.savepoints.allow-any-target-directory is set: whoever reaches the API must not make the
 * JobManager write wherever it may ('../../etc', any absolute path).
 */
function targetDirectory(entry: JobEntry, given: string | undefined, field: string): string {
  const config = entry.job.job.config
  const base = config.get(SAVEPOINTS_DIR)
  if (given === undefined) {
    if (!base) throw badRequest(`no savepoint directory: pass '${field}' in the request body, or set execution.checkpointing.savepoint-dir for the job (weir.yaml or -D execution.checkpointing.savepoint-dir=DIR)`)
    return base
  }
  if (config.get(REST_SAVEPOINTS_ALLOW_ANY_TARGET)) return given
  if (!base) {
    throw badRequest(`'${field}' ${given} is refused: the job has no execution.checkpointing.savepoint-dir to confine savepoints to; set execution.checkpointing.savepoint-dir (and give a directory inside it, or none), or rest.savepoints.allow-any-target-directory: true to allow any path`)
  }
  if (isS3Url(base) || isS3Url(given)) return s3TargetInside(base, given, field)
  const target = resolve(base, given)
  const inside = relative(realExisting(resolve(base)), realExisting(target))
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw badRequest(`'${field}' ${given} is outside execution.checkpointing.savepoint-dir (${base}); give a directory inside it, or set rest.savepoints.allow-any-target-directory: true to allow any path`)
  }
  return target
}

/** An s3:// target inside an s3:// base (a relative one is a key under it); no '.' or '..' segments, no file system path. */
function s3TargetInside(base: string, given: string, field: string): string {
  const outside = () => badRequest(`'${field}' ${given} is outside execution.checkpointing.savepoint-dir (${base}); give a location inside it, or set rest.savepoints.allow-any-target-directory: true to allow any`)
  if (!isS3Url(base) || isAbsolute(given)) throw outside()
  const root = base.replace(/\/+$/, '')
  const key: string = given
  const target = isS3Url(given) ? given.replace(/\/+$/, '') : `${root}/${key.replace(/^\/+|\/+$/g, '')}`
  let rootLocation, location
  try {
    rootLocation = parseS3Url(root)
    location = parseS3Url(target)
  } catch (e) {
    throw badRequest(`'${field}' ${given}: ${(e as Error).message}`)
  }
  const segments = location.prefix.split('/')
  if (segments.some((part) => part === '.' || part === '..') || location.bucket !== rootLocation.bucket) throw outside()
  if (rootLocation.prefix !== '' && location.prefix !== rootLocation.prefix && !location.prefix.startsWith(rootLocation.prefix + '/')) throw outside()
  return target
}

/** The real path of `path`'s nearest existing ancestor joined with the rest, so that a symbolic link cannot lead outside. */
function realExisting(path: string): string {
  const rest: string[] = []
  for (let p = path; ; p = dirname(p)) {
    try {
      return resolve(realpathSync(p), ...rest.reverse())
    } catch {
      if (dirname(p) === p) return path
      rest.push(relative(dirname(p), p))
    }
  }
}
