// The REST routes only a standalone JobManager has: job submission (what `weir run -m` calls)
// and its TaskManagers, in the shape of Flink's /taskmanagers.

import type { IncomingMessage } from 'node:http'
import type { Handler } from '../rest/handlers/context.ts'
import { jobEntry, ok } from '../rest/handlers/context.ts'
import { RestError, badRequest } from '../rest/rest-error.ts'
import { isWeirError } from '../errors.ts'
import { slotOf } from '../runtime/taskmanager/task-executor.ts'
import type { JobManagerProcess } from './job-manager.ts'

/** A job's artifact is at most this large (base64 in JSON). */
const MAX_SUBMISSION_BYTES = 256 * 1024 * 1024

export function clusterRoutes(jm: JobManagerProcess): Array<readonly [string, string, Handler]> {
  const submit: Handler = async (ctx) => {
    const body = await readLargeJson(ctx.req)
    if (typeof body.artifact !== 'string' || body.artifact.length === 0) throw badRequest("'artifact' (the bundled job, base64) is required")
    const args = body.args ?? []
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw badRequest("'args' must be an array of strings")
    const config = body.config ?? {}
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw badRequest("'config' must be an object of configuration keys")
    for (const k of ['jobFile', 'restoreFrom'] as const) if (body[k] !== undefined && typeof body[k] !== 'string') throw badRequest(`'${k}' must be a string`)
    try {
      const master = await jm.submit({
        artifact: Buffer.from(body.artifact, 'base64'), jobFile: body.jobFile as string | undefined, args: args as string[],
        config: config as Record<string, string>, restoreFrom: body.restoreFrom as string | undefined, allowNonRestoredState: body.allowNonRestoredState === true,
      })
      return { status: 202, body: { jobid: master.jobId, name: master.job.name, slots: master.slots } }
    } catch (e) {
      if (isWeirError(e) && e.domain === 'user') throw new RestError(400, e.message)
      throw e
    }
  }

  const taskManagers: Handler = () => ok({
    taskmanagers: [...jm.taskManagers.values()].map((tm) => {
      const free = jm.dispatcher.slotPool.registered.find((r) => r.gateway.id === tm.id)?.freeSlots ?? 0
      return { id: tm.id, path: tm.host, dataPort: tm.dataPort, slotsNumber: tm.numSlots, freeSlots: free, timeSinceLastHeartbeat: tm.lastHeartbeat, registeredAt: tm.registeredAt }
    }),
  })

  /** Which TaskManager runs each subtask of the job's current attempt. */
  const placement: Handler = (ctx) => {
    const entry = jobEntry(ctx)
    const master = jm.dispatcher.get(entry.job.jobId)
    const slots = master?.attempt?.placement ?? []
    const vertices = entry.job.job.graph.vertices.map((v) => ({
      id: v.id, name: v.name,
      subtasks: Array.from({ length: v.parallelism }, (_, i) => ({ subtask: i, slot: slotOf(i, slots.length || 1), taskmanager: slots[slotOf(i, slots.length || 1)] ?? null })),
    }))
    return ok({ jid: entry.job.jobId, vertices })
  }

  return [['POST', '/jobs', submit], ['GET', '/taskmanagers', taskManagers], ['GET', '/jobs/:jobid/taskmanagers', placement]]
}

async function readLargeJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_SUBMISSION_BYTES) throw new RestError(413, `submission too large (over ${MAX_SUBMISSION_BYTES} bytes)`)
    chunks.push(chunk as Buffer)
  }
  let value: unknown
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (e) {
    throw badRequest(`request body is not valid JSON: ${(e as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('request body must be a JSON object')
  return value as Record<string, unknown>
}
