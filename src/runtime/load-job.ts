// Loads a job module and checks that it default-exports a job definition.

import { isJobDefinition, type JobDefinition } from '../api/job.ts'
import { UserError } from '../errors.ts'
import { fileURLToPath } from 'node:url'
import { RUNTIME_ENTRY } from '../package-layout.ts'


export async function loadJobDefinition(url: string, displayName: string = fileURLToPath(url)): Promise<JobDefinition> {
  let mod: { default?: unknown }
  try {
    mod = (await import(url)) as { default?: unknown }
  } catch (e) {
    throw missingExport(e, displayName) ?? e
  }
  if (!isJobDefinition(mod.default)) {
    throw new UserError('WEIR_INVALID_JOB', mod.default === undefined
      ? `${displayName} has no default export; end it with: export default defineJob('name', (env) => { ... })`
      : `the default export of ${displayName} is not a job; export default defineJob('name', (env) => { ... })`)
  }
  return mod.default
}

/** A job importing a name its module does not export: one line naming the name, the module and the job file. */
function missingExport(e: unknown, displayName: string): UserError | null {
  if (!(e instanceof SyntaxError)) return null
  const m = /^The requested module '(.+)' does not provide an export named '(.+)'$/.exec(e.message)
  if (!m) return null
  const module = m[1] === RUNTIME_ENTRY || m[1] === 'weir-stream' ? 'weir-stream' : m[1]
  return new UserError('WEIR_INVALID_JOB', `${displayName} imports '${m[2]}' from '${module}', which does not export it`)
}
