// Loads a job module and checks that it default-exports a job definition.

import { isJobDefinition, type JobDefinition } from '../api/job.ts'
import { UserError } from '../errors.ts'
import { fileURLToPath } from 'node:url'

export async function loadJobDefinition(url: string, displayName: string = fileURLToPath(url)): Promise<JobDefinition> {
  const mod = (await import(url)) as { default?: unknown }
  if (!isJobDefinition(mod.default)) {
    throw new UserError('WEIR_INVALID_JOB', mod.default === undefined
      ? `${displayName} has no default export; end it with: export default defineJob('name', (env) => { ... })`
      : `the default export of ${displayName} is not a job; export default defineJob('name', (env) => { ... })`)
  }
  return mod.default
}
