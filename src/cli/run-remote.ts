// `weir run -m HOST:PORT [-d] job.ts ...`: submits the bundled job to a standalone JobManager
// through its REST API (POST /jobs with the artifact), as `flink run -m` does. Detached, it
// prints the job id and returns. Attached, it follows the job until it ends and turns the end
// into the exit code as `weir run` does; Ctrl-C leaves the job running on the cluster unless
// --shutdown-on-attached-exit (-sae) was given.

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import { bundleJob } from './bundle.ts'
import { parseEndpoint, RestClient, RestClientError } from '../rest/client.ts'
import { UserError } from '../errors.ts'
import type { RawConfig } from '../config/configuration.ts'
import { EXIT_CANCELED, EXIT_FAILED, EXIT_SIGINT, EXIT_SIGTERM } from './run.ts'

export interface RemoteRunOptions {
  readonly jobmanager: string
  readonly detached?: boolean
  readonly shutdownOnAttachedExit?: boolean
  readonly restoreFrom?: string
  readonly allowNonRestoredState?: boolean
}

const POLL_MS = 250

interface JobDetails {
  jid: string
  name: string
  state: string
  metrics?: { 'records-in': number; 'records-out': number }
}

export async function runRemote(jobPath: string, jobArgs: string[], config: RawConfig, options: RemoteRunOptions): Promise<number> {
  const client = new RestClient(parseEndpoint(options.jobmanager))
  const artifact = await bundleJob(jobPath)
  let jobId: string
  try {
    const body = {
      artifact: readFileSync(fileURLToPath(artifact.url)).toString('base64'), jobFile: jobPath, args: jobArgs, config,
      ...(options.restoreFrom ? { restoreFrom: options.restoreFrom === 'latest' ? 'latest' : resolve(options.restoreFrom) } : {}),
      ...(options.allowNonRestoredState ? { allowNonRestoredState: true } : {}),
    }
    try {
      jobId = (await client.post<{ jobid: string }>('/jobs', body)).jobid
    } catch (e) {
      if (e instanceof RestClientError && e.status === 400) throw new UserError('WEIR_INVALID_JOB', e.message)
      throw e
    }
  } finally {
    artifact.dispose()
  }
  process.stdout.write(`Job has been submitted with JobID ${jobId}\n`)
  if (options.detached) return 0

  let signal: number | null = null
  const onSignal = (code: number) => () => {
    if (signal !== null) process.exit(code)
    signal = code
  }
  const onInt = onSignal(EXIT_SIGINT)
  const onTerm = onSignal(EXIT_SIGTERM)
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  try {
    let last = ''
    for (;;) {
      if (signal !== null) {
        if (options.shutdownOnAttachedExit) {
          await client.patch(`/jobs/${jobId}`).catch(() => {})
          process.stderr.write(`Canceled job ${jobId} (--shutdown-on-attached-exit).\n`)
        } else {
          process.stderr.write(`Job ${jobId} keeps running on the cluster; cancel it with: weir cancel -m ${options.jobmanager} ${jobId}\n`)
        }
        return signal
      }
      const job = await client.get<JobDetails>(`/jobs/${jobId}`)
      if (job.state !== last) {
        process.stderr.write(`Job '${job.name}' (${jobId}) is ${job.state}\n`)
        last = job.state
      }
      if (job.state === 'FINISHED') {
        process.stderr.write(`Job '${job.name}' finished: ${job.metrics?.['records-in'] ?? 0} record(s) in, ${job.metrics?.['records-out'] ?? 0} out.\n`)
        return 0
      }
      if (job.state === 'CANCELED') {
        // As for an embedded run: canceled by a request is exit 3 and says so, not a failure.
        process.stderr.write(`Job '${job.name}' canceled (by a cancel request): ${job.metrics?.['records-in'] ?? 0} record(s) in, ${job.metrics?.['records-out'] ?? 0} out.\n`)
        return EXIT_CANCELED
      }
      if (job.state === 'FAILED') {
        const ex = await client.get<{ 'root-exception': string | null }>(`/jobs/${jobId}/exceptions`).catch(() => null)
        process.stderr.write(`Job '${job.name}' failed${ex?.['root-exception'] ? `: ${ex['root-exception']}` : ''}\n`)
        return EXIT_FAILED
      }
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  } finally {
    process.off('SIGINT', onInt)
    process.off('SIGTERM', onTerm)
  }
}
