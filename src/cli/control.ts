// Commands that talk to a running job through its JobManager's REST API, like `flink list`,
// `flink savepoint`, `flink stop` and `flink cancel`. Each prints one line on failure and
// exits 1 (2 when the command line lacks something it needs); results go to stdout, progress
// (once a request was accepted) to stderr.

import { resolve } from 'node:path'
import { isS3Url } from '../checkpoint/storage/s3/s3-location.ts'
import { DEFAULT_JOBMANAGER, parseEndpoint, RestClient, RestClientError } from '../rest/client.ts'

export interface ControlOptions {
  jobmanager?: string
}

interface OverviewJob {
  jid: string
  name: string
  state: string
  'start-time': number
}

interface OperationStatus {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' }
  operation?: { location?: string; 'failure-cause'?: { message?: string; 'stack-trace'?: string } }
}

const JOB_ID = /^[0-9a-f]{32}$/
const POLL_MS = 100
/** How long `weir cancel` waits for the job to reach CANCELED. */
const CANCEL_TIMEOUT_MS = 60_000

/** `weir list` */
export function listCommand(options: ControlOptions): Promise<number> {
  return guarded(async () => {
    const client = clientFor(options)
    const { jobs } = await client.get<{ jobs: OverviewJob[] }>('/jobs/overview')
    if (jobs.length === 0) {
      process.stdout.write('No jobs.\n')
      return
    }
    // Per job: its restarts and checkpoints (one request each; a JobManager runs few jobs).
    const rows = await Promise.all(jobs.map(async (j) => {
      const [details, checkpoints] = await Promise.all([
        client.get<{ duration: number; restarts?: number }>(`/jobs/${j.jid}`).catch(() => null),
        client.get<CheckpointStatistics>(`/jobs/${j.jid}/checkpoints`).catch(() => null),
      ])
      const last = checkpoints?.latest.completed
      return [
        j.jid, j.state, formatTime(j['start-time']), details ? formatDuration(details.duration) : '-', String(details?.restarts ?? '-'),
        checkpoints ? `${checkpoints.counts.completed}/${checkpoints.counts.total}` : '-',
        last ? `${last.id} (${formatBytes(last.state_size)}, ${last.end_to_end_duration} ms)` : '-',
        j.name,
      ]
    }))
    const header = ['JOB ID', 'STATUS', 'STARTED', 'DURATION', 'RESTARTS', 'CHECKPOINTS', 'LAST CHECKPOINT', 'NAME']
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')
    process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`)
  })
}

/** A target directory as the JobManager needs it: an absolute path, or an s3:// URL as given. */
function targetPath(dir: string): string {
  return isS3Url(dir) ? dir : resolve(dir)
}

/** `weir savepoint <job-id> [target-dir]` */
export function savepointCommand(jobId: string, targetDir: string | undefined, options: ControlOptions): Promise<number> {
  return guarded(async () => {
    checkJobId(jobId)
    const client = clientFor(options)
    const body = targetDir === undefined ? {} : { 'target-directory': targetPath(targetDir) }
    const { 'request-id': triggerId } = await withDirHint(client.post<{ 'request-id': string }>(`/jobs/${jobId}/savepoints`, body), targetDir, '[target-dir]')
    process.stderr.write(`Triggered a savepoint of job ${jobId}; waiting for it to complete.\n`)
    const path = await awaitSavepoint(client, jobId, triggerId)
    process.stdout.write(`Savepoint completed. Path: ${path}\n`)
    process.stderr.write(`Resume from it with: weir run -s ${path} <job>\n`)
  })
}

/** `weir stop <job-id> [-p dir] [--drain]` */
export function stopCommand(jobId: string, options: ControlOptions & { savepointPath?: string; drain?: boolean }): Promise<number> {
  return guarded(async () => {
    checkJobId(jobId)
    const client = clientFor(options)
    const body = { ...(options.savepointPath === undefined ? {} : { targetDirectory: targetPath(options.savepointPath) }), drain: options.drain === true }
    const { 'request-id': triggerId } = await withDirHint(client.post<{ 'request-id': string }>(`/jobs/${jobId}/stop`, body), options.savepointPath, '-p <dir>')
    process.stderr.write(`${options.drain ? 'Draining' : 'Stopping'} job ${jobId} with a savepoint; waiting for it to complete.\n`)
    const path = await awaitSavepoint(client, jobId, triggerId)
    process.stdout.write(`Savepoint completed. Path: ${path}\n`)
    process.stderr.write(`Resume from it with: weir run -s ${path} <job>\n`)
  })
}

/** `weir cancel <job-id>`: returns once the job is CANCELED. */
export function cancelCommand(jobId: string, options: ControlOptions): Promise<number> {
  return guarded(async () => {
    checkJobId(jobId)
    const client = clientFor(options)
    await client.patch(`/jobs/${jobId}?mode=cancel`)
    const deadline = Date.now() + CANCEL_TIMEOUT_MS
    for (;;) {
      const { state } = await client.get<{ state: string }>(`/jobs/${jobId}`)
      if (state === 'CANCELED') break
      if (state === 'FINISHED' || state === 'FAILED') throw new RestClientError(`job ${jobId} ${state.toLowerCase()} before it could be cancelled`)
      if (Date.now() > deadline) throw new RestClientError(`job ${jobId} is still ${state} ${CANCEL_TIMEOUT_MS / 1000}s after the cancel request`)
      await sleep(POLL_MS)
    }
    process.stdout.write(`Cancelled job ${jobId}.\n`)
  })
}

async function awaitSavepoint(client: RestClient, jobId: string, triggerId: string): Promise<string> {
  for (;;) {
    const s = await client.get<OperationStatus>(`/jobs/${jobId}/savepoints/${triggerId}`)
    if (s.status.id === 'COMPLETED') {
      const failure = s.operation?.['failure-cause']
      if (failure || !s.operation?.location) throw new RestClientError(failure?.message ?? failure?.['stack-trace'] ?? 'the savepoint failed')
      return s.operation.location
    }
    await sleep(POLL_MS)
  }
}

/** The command line lacks something: exit code 2, as for other usage errors. */
class UsageError extends Error {}

/** The server names the REST field when no directory is known; point the CLI user at the argument instead. */
async function withDirHint<T>(request: Promise<T>, given: string | undefined, argument: string): Promise<T> {
  try {
    return await request
  } catch (e) {
    if (given === undefined && e instanceof RestClientError && e.status === 400 && e.message.includes('execution.checkpointing.savepoint-dir')) {
      throw new UsageError(`no savepoint directory: give one (${argument}), or start the job with -D execution.checkpointing.savepoint-dir=DIR (state.savepoints.dir in Flink 1.x)`)
    }
    throw e
  }
}

function clientFor(options: ControlOptions): RestClient {
  return new RestClient(parseEndpoint(options.jobmanager ?? DEFAULT_JOBMANAGER))
}

function checkJobId(jobId: string): void {
  if (!JOB_ID.test(jobId)) throw new RestClientError(`'${jobId}' is not a job id (32 hexadecimal characters); weir list shows the ids`)
}

async function guarded(command: () => Promise<void>): Promise<number> {
  try {
    await command()
    return 0
  } catch (e) {
    const message = e instanceof RestClientError ? e.message : `${(e as Error).message}`
    process.stderr.write(`weir: ${message}\n`)
    return e instanceof UsageError ? 2 : 1
  }
}

interface CheckpointStatistics {
  counts: { completed: number; total: number }
  latest: { completed: { id: number; state_size: number; end_to_end_duration: number } | null }
}

function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`
  return `${(ms / 1000).toFixed(1)}s`
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`
  return `${n} B`
}

function formatTime(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
