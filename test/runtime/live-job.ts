// Starts a job module on the mini cluster and keeps it running, for tests that must watch its
// output while it runs (unbounded sources, timers, sockets) and then cancel it. Like
// test/helpers/run-job.ts, it bundles the job so that `import 'weir-stream'` resolves to the runtime that runs it
// (dist/ when fresh, else src/: see test/helpers/runtime.ts).

import { bundleJob, JobExecution, type JobResult } from '../helpers/runtime.ts'
import type { RawConfig } from '../../src/config/configuration.ts'
import { WAIT_MS } from '../helpers/deadlines.ts'

export interface LiveJob {
  readonly execution: JobExecution
  /** Settles when the job ends (and its artifact is removed). */
  readonly result: Promise<JobResult>
  /** Everything print() wrote so far. */
  stdout(): string
  /** stdout so far as lines, without the trailing empty one. */
  lines(): string[]
  /** Resolves once `ready(lines)` holds; rejects on timeout or when the job ends first. */
  waitFor(ready: (lines: string[]) => boolean, timeoutMs?: number, what?: string): Promise<string[]>
  /** Cancels the job (if still running) and returns its result. */
  stop(): Promise<JobResult>
}

export async function startJob(jobFile: string, options: { args?: string[]; config?: RawConfig } = {}): Promise<LiveJob> {
  const artifact = await bundleJob(jobFile)
  let text = ''
  const listeners = new Set<() => void>()
  let execution: JobExecution
  try {
    execution = await JobExecution.start({
      artifactUrl: artifact.url,
      args: options.args ?? [],
      config: options.config ?? {},
      onStdout: (chunk) => {
        text += chunk
        for (const l of listeners) l()
      },
    })
  } catch (e) {
    artifact.dispose()
    throw e
  }
  let ended: JobResult | null = null
  const result = execution.result.then((r) => {
    ended = r
    artifact.dispose()
    for (const l of listeners) l()
    return r
  })
  const lines = () => text.split('\n').filter((l) => l.length > 0)

  return {
    execution,
    result,
    stdout: () => text,
    lines,
    waitFor(ready, timeoutMs = WAIT_MS, what = 'the expected output') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const current = lines()
          if (ready(current)) {
            done()
            resolve(current)
          } else if (ended) {
            done()
            reject(new Error(`job ended (${ended.status}${ended.error ? `: ${ended.error.message}` : ''}) before ${what}; output:\n${text}`))
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output so far:\n${text}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        check()
      })
    },
    async stop() {
      await execution.cancel()
      return result
    },
  }
}
