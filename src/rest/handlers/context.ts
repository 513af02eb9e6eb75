// What a route handler receives, and the lookups every job route starts with.

import type { IncomingMessage } from 'node:http'
import type { Params } from '../router.ts'
import type { JobEntry, JobRegistry } from '../job-registry.ts'
import { notFound } from '../rest-error.ts'

export interface RequestContext {
  readonly registry: JobRegistry
  readonly req: IncomingMessage
  readonly params: Params
  readonly query: URLSearchParams
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
