// defineJob: what a job module default-exports. The builder is called once in the JobManager
// and once in every worker that runs part of the job, so it must build the same graph each
// time: no randomness or clock reads in the shape of the pipeline.

import type { StreamEnvironment } from './environment.ts'

export interface JobDefinition {
  readonly kind: 'weir.job'
  readonly name: string
  readonly build: (env: StreamEnvironment) => void
}

export function defineJob(name: string, build: (env: StreamEnvironment) => void): JobDefinition {
  return { kind: 'weir.job', name, build }
}

export function isJobDefinition(value: unknown): value is JobDefinition {
  return typeof value === 'object' && value !== null && (value as JobDefinition).kind === 'weir.job' && typeof (value as JobDefinition).build === 'function'
}
