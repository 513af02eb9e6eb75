// Runs a job module on the embedded mini cluster from a test: bundles it (so `import 'weir-stream'`
// resolves to the runtime that runs it: dist/ when fresh, else src/, see ./runtime.ts), captures what print() writes, and returns the job's result.

import { bundleJob, JobExecution, type JobResult } from './runtime.ts'
import type { RawConfig } from '../../src/config/configuration.ts'

export interface TestRun {
  result: JobResult
  /** Everything print() wrote, in arrival order. */
  stdout: string
  /** stdout split into lines, without the trailing empty one. */
  lines: string[]
}

export async function runJob(jobFile: string, options: { args?: string[]; config?: RawConfig; onStart?: (e: JobExecution) => void } = {}): Promise<TestRun> {
  const artifact = await bundleJob(jobFile)
  try {
    let stdout = ''
    const execution = await JobExecution.start({
      artifactUrl: artifact.url,
      args: options.args ?? [],
      config: options.config ?? {},
      onStdout: (text) => (stdout += text),
    })
    options.onStart?.(execution)
    const result = await execution.result
    return { result, stdout, lines: stdout.split('\n').filter((l) => l.length > 0) }
  } finally {
    artifact.dispose()
  }
}
