// Runs a job's builder against a fresh environment and compiles the result into a job graph.
// The JobManager and every worker call this with the same inputs and get the same graph.

import type { JobDefinition } from '../api/job.ts'
import { StreamEnvironment } from '../api/environment.ts'
import { Configuration, type RawConfig } from '../config/configuration.ts'
import { MAX_PARALLELISM, OPERATOR_CHAINING, PARALLELISM_DEFAULT } from '../config/options.ts'
import { buildJobGraph, type JobGraph } from '../graph/job-graph.ts'
import { UserError, isWeirError } from '../errors.ts'

export interface CompiledJob {
  readonly name: string
  readonly env: StreamEnvironment
  readonly config: Configuration
  readonly graph: JobGraph
  /** Max parallelism per uid taken from the checkpoint or savepoint it restores from (slots compile with the same). */
  readonly restoredMaxParallelism: Readonly<Record<string, number>> | null
}

export function compileJob(definition: JobDefinition, args: readonly string[], rawConfig: RawConfig, restoredMaxParallelism: Readonly<Record<string, number>> | null = null): CompiledJob {
  const config = new Configuration(rawConfig)
  const env = new StreamEnvironment(args, config)
  try {
    definition.build(env)
  } catch (e) {
    if (isWeirError(e)) throw e
    const err = e instanceof Error ? e : new Error(String(e))
    throw new UserError('WEIR_INVALID_JOB', `building job '${definition.name}' failed: ${err.message}`, { cause: err })
  }
  const graph = buildJobGraph(env.transformations, {
    defaultParallelism: config.get(PARALLELISM_DEFAULT),
    maxParallelism: config.get(MAX_PARALLELISM),
    chaining: config.get(OPERATOR_CHAINING),
    restoredMaxParallelism,
  })
  return { name: definition.name, env, config, graph, restoredMaxParallelism }
}
