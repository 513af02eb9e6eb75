// `weir check job.ts`: the type check `weir run` does before it starts a job, alone. Exit 0 when
// the job type-checks, 1 when it has type errors (each printed as file:line:column), 2 when the
// file is missing or is not TypeScript.

import { existsSync } from 'node:fs'
import { isTypeScriptJob, typecheckJob } from './typecheck.ts'
import { UserError } from '../errors.ts'

export async function checkCommand(jobPath: string): Promise<number> {
  if (!existsSync(jobPath)) throw new UserError('WEIR_INVALID_ARGUMENT', `job file not found: ${jobPath}`)
  if (!isTypeScriptJob(jobPath)) throw new UserError('WEIR_INVALID_ARGUMENT', `${jobPath} is not a TypeScript file (.ts, .mts, .cts, .tsx): there is nothing to type-check`)
  const result = await typecheckJob(jobPath)
  if (result === null) throw new UserError('WEIR_INVALID_ARGUMENT', 'no TypeScript compiler found: install the typescript package in the project (npm install -D typescript)')
  const how = `TypeScript ${result.compiler.version} (${result.compiler.from === 'project' ? "the project's" : "Weir's"}), ${(result.durationMs / 1000).toFixed(2)}s`
  if (result.errors.length === 0) {
    process.stdout.write(`${jobPath}: no type errors (${how})\n`)
    return 0
  }
  for (const e of result.errors) process.stdout.write(`${e}\n`)
  process.stderr.write(`${jobPath}: ${result.errors.length} type error(s) (${how})\n`)
  return 1
}
