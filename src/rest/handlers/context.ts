// What a route handler receives, and the lookups every job route starts with.

import type { IncomingMessage } from 'node:http'
import type { Params } from '../router.ts'
import type { JobEntry, JobRegistry, ManagedJob, ManagedVertex } from '../job-registry.ts'
import { badRequest, notFound } from '../rest-error.ts'
import type { ClusterView } from '../cluster-view.ts'

export interface RequestContext {
  readonly registry: JobRegistry
  readonly req: IncomingMessage
  readonly params: Params
  readonly query: URLSearchParams
  readonly cluster: ClusterView
}

export interface Reply {
  readonly status: number
  readonly body: unknown
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>

export const ok = (body: unknown): Reply => ({ status: 200, body })
export const accepted = (body: unknown): Reply => ({ status: 202, body })

const JOB_ID = /^[0-9a-f]{32}$/

/** The job named by the :jobid path parameter; 404 with a hint when there is none. */
export function jobEntry(ctx: RequestContext): JobEntry {
  const id = ctx.params['jobid']!
  const entry = ctx.registry.get(id)
  if (entry) return entry
  const hint = JOB_ID.test(id) ? '' : ' (a job id is 32 hexadecimal characters)'
  throw notFound(`no job with id '${id}'${hint}; GET /jobs lists the jobs`)
}

/** The vertex named by a :vertexid path parameter (Weir's vertex ids are their index in the job graph). */
export function vertexOf(job: ManagedJob, raw: string): ManagedVertex {
  if (!/^\d+$/.test(raw)) throw badRequest(`'${raw}' is not a vertex id: vertex ids are the 'id' fields of GET /jobs/${job.jobId} (0, 1, ...)`)
  const vertex = job.job.graph.vertices.find((v) => v.id === Number(raw))
  if (!vertex) throw notFound(`job ${job.jobId} has no vertex ${raw}; it has ${job.job.graph.vertices.map((v) => v.id).join(', ')}`)
  return vertex
}
