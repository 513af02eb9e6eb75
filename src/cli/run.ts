// `weir run`: bundles the job, starts the embedded mini cluster, shows progress on a terminal,
// and turns the job's end into an exit code and a final line: 0 finished, 1 failed, 3 canceled
// by request (weir cancel, the REST API), 130 / 143 canceled by SIGINT / SIGTERM.

import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { bundleJob } from './bundle.ts'
import { metadataPath } from '../checkpoint/protocol/paths.ts'
import { isTypeScriptJob, throwTypeErrors, typecheckJob } from './typecheck.ts'
import { StatusLine } from './progress.ts'
import { JobExecution, type JobResult } from '../runtime/jobmanager/mini-cluster.ts'
import { Configuration, canonicalKey, normalizeKeys, parseDynamicProperty, type RawConfig } from '../config/configuration.ts'
import { readConfigFile, readDefaultConfigFile } from '../config/config-file.ts'
import { ALLOW_DUPLICATE_OUTPUT, OPTIONS_BY_ANY_KEY } from '../config/options.ts'
import { UserError, type WeirError } from '../errors.ts'
import { JobRegistry } from '../rest/job-registry.ts'
import { startEmbeddedRestServer, REST_GRACE_MS, type EmbeddedRestServer } from '../rest/embedded.ts'
import { createLogger, resolveLogFormat, resolveLogLevel, type Logger } from '../logging/logger.ts'
import type { LogContext } from '../runtime/jobmanager/mini-cluster.ts'

export interface RunCommandOptions {
  parallelism?: string
  define?: string[]
  config?: string
  status?: boolean
  fromSavepoint?: string
  fromCheckpoint?: string
  allowNonRestoredState?: boolean
  /** --allow-duplicate-output: sets execution.state-recovery.allow-duplicate-output. */
  allowDuplicateOutput?: boolean
  /** Submit to this JobManager (its REST endpoint) instead of an embedded mini cluster. */
  jobmanager?: string
  detached?: boolean
  shutdownOnAttachedExit?: boolean
  logFormat?: string
  logLevel?: string
  /** false with --no-typecheck. */
  typecheck?: boolean
}

export const EXIT_FAILED = 1
/** Canceled through `weir cancel` or the REST API: not a failure, and not a finished job either. */
export const EXIT_CANCELED = 3
export const EXIT_SIGINT = 130
export const EXIT_SIGTERM = 143

/**
 * Config from weir.yaml (or --config), then -D pairs, then -p; validated before anything starts.
 * Keys come out under their Flink 2 names, so a later layer overrides an earlier one whichever
 * name each used.
 */
export function resolveConfig(options: RunCommandOptions): RawConfig {
  const raw: RawConfig = normalizeKeys(options.config ? readConfigFile(options.config) : readDefaultConfigFile())
  for (const d of options.define ?? []) {
    const [key, value] = parseDynamicProperty(d)
    raw[canonicalKey(key)] = value
  }
  if (options.parallelism !== undefined) {
    if (!/^\d+$/.test(options.parallelism) || Number(options.parallelism) < 1) {
      throw new UserError('WEIR_INVALID_ARGUMENT', `-p expects a positive integer, got '${options.parallelism}'`)
    }
    raw['parallelism.default'] = options.parallelism
  }
  if (options.allowDuplicateOutput) raw[ALLOW_DUPLICATE_OUTPUT.key] = 'true'
  new Configuration(raw) // validates every key and value
  return raw
}

/** Slots per core above which `weir run` warns: each slot is a worker thread, so more than a few per core buy nothing. */
export const SLOTS_PER_CORE_WARNING = 4

/** The one-line warning for a parallelism far above the machine's cores; null when it is not. */
export function parallelismWarning(slots: number, cores: number): string | null {
  if (slots <= SLOTS_PER_CORE_WARNING * cores) return null
  return `Warning: ${slots} slots on ${cores} core(s): slots beyond the cores add start-up time and memory, not speed (-p ${cores} uses every core).`
}

/**
 * The one-line warning for Weir's own -D options written after the job file, where they are the
 * job's arguments (as with `flink run`) and Weir never sees them; null when there are none.
 */
export function misplacedOptionsWarning(jobArgs: readonly string[]): string | null {
  const misplaced: string[] = []
  for (let i = 0; i < jobArgs.length; i++) {
    const arg = jobArgs[i]!
    const property = arg === '-D' ? jobArgs[i + 1] : arg.startsWith('-D') ? arg.slice(2) : undefined
    const key = property?.split('=')[0]
    if (key !== undefined && OPTIONS_BY_ANY_KEY.has(key)) misplaced.push(`-D ${property}`)
  }
  if (misplaced.length === 0) return null
  return `Warning: ${misplaced.join(' ')} come${misplaced.length === 1 ? 's' : ''} after the job file, so the job gets ${misplaced.length === 1 ? 'it' : 'them'} as its own argument${misplaced.length === 1 ? '' : 's'} and Weir does not: put Weir's options before the job file (weir run [options] job.ts [job arguments]).`
}

export async function runCommand(jobPath: string, jobArgs: string[], options: RunCommandOptions): Promise<number> {
  const config = resolveConfig(options)
  const misplaced = misplacedOptionsWarning(jobArgs)
  if (misplaced) process.stderr.write(`${misplaced}\n`)
  if (options.jobmanager !== undefined) {
    if (options.fromSavepoint && options.fromCheckpoint) throw new UserError('WEIR_INVALID_ARGUMENT', 'give either -s/--from-savepoint or --from-checkpoint, not both')
    await typecheckUnlessSkipped(jobPath, options)
    const { runRemote } = await import('./run-remote.ts')
    return runRemote(jobPath, jobArgs, config, {
      jobmanager: options.jobmanager, detached: options.detached, shutdownOnAttachedExit: options.shutdownOnAttachedExit,
      restoreFrom: options.fromSavepoint ?? options.fromCheckpoint, allowNonRestoredState: options.allowNonRestoredState,
    })
  }
  if (options.detached) throw new UserError('WEIR_INVALID_ARGUMENT', '-d/--detached needs a cluster to leave the job on: give -m HOST:PORT of a JobManager (weir cluster start)')
  const isTerminal = process.stderr.isTTY === true
  const format = resolveLogFormat(options.logFormat, isTerminal)
  const level = resolveLogLevel(options.logLevel)
  // Bundling first: a missing file or a syntax error is one line from esbuild; then the type check.
  const artifact = await bundleJob(jobPath)
  try {
    await typecheckUnlessSkipped(jobPath, options)
  } catch (e) {
    artifact.dispose()
    throw e
  }
  const interactive = options.status !== false && isTerminal
  let status: StatusLine | null = null
  let execution: JobExecution | null = null
  let rest: EmbeddedRestServer | null = null
  let signalExit: number | null = null
  const onSignal = (code: number) => () => {
    if (signalExit !== null) process.exit(code) // a second Ctrl-C: leave at once
    signalExit = code
    void execution?.cancel()
  }
  const onInt = onSignal(EXIT_SIGINT)
  const onTerm = onSignal(EXIT_SIGTERM)
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  try {
    if (options.fromSavepoint && options.fromCheckpoint) throw new UserError('WEIR_INVALID_ARGUMENT', 'give either -s/--from-savepoint or --from-checkpoint, not both')
    const logger = createLogger({ format, level, isTerminal, write: (text) => (status ? status.log(text.replace(/\n$/, '')) : process.stderr.write(text)) })
    const log = (line: string, context: LogContext = {}) => {
      const { level: lineLevel, ...fields } = context
      logger[lineLevel ?? (line.startsWith('Warning: ') ? 'warn' : 'info')](fields, line)
    }
    const registry = new JobRegistry()
    rest = await startEmbeddedRestServer(new Configuration(config), registry, log)
    execution = await JobExecution.start({
      artifactUrl: artifact.url,
      jobFile: jobPath,
      args: jobArgs,
      config,
      restoreFrom: options.fromSavepoint ?? options.fromCheckpoint,
      allowNonRestoredState: options.allowNonRestoredState,
      onLog: log,
      logTaskLifecycle: logger.isLevelEnabled('debug'),
      onStdout: interactive && process.stdout.isTTY ? (text) => status!.print(text) : undefined,
      onMetrics: (m) => status?.update(m),
    })
    registry.register(execution)
    const crowded = parallelismWarning(execution.slots, availableParallelism())
    if (crowded) log(crowded, { jobId: execution.jobId })
    if (interactive) status = new StatusLine(execution.job.name, process.stderr, execution)
    log(`Job '${execution.job.name}' (${execution.jobId}) running on ${execution.slots} slot(s)${execution.checkpointOptions.intervalMs !== null ? `, checkpoints every ${execution.checkpointOptions.intervalMs} ms to ${execution.checkpointOptions.dir ?? 'the JobManager'}` : ''}`, { jobId: execution.jobId })
    log(rest.banner, { jobId: execution.jobId })
    if (signalExit !== null) void execution.cancel()
    const result = await execution.result
    status?.stop()
    return report(result, signalExit, execution, format === 'json' ? logger : null)
  } finally {
    status?.stop()
    process.off('SIGINT', onInt)
    process.off('SIGTERM', onTerm)
    // A client that stopped or cancelled the job through REST gets to read the outcome.
    await rest?.server.close({ graceMs: REST_GRACE_MS })
    artifact.dispose()
  }
}

/** The type check before a TypeScript job runs (not with --no-typecheck); fails with the job's type errors. */
async function typecheckUnlessSkipped(jobPath: string, options: RunCommandOptions): Promise<void> {
  if (options.typecheck === false || !isTypeScriptJob(jobPath)) return
  const checked = await typecheckJob(jobPath)
  if (checked === null) process.stderr.write('Warning: no TypeScript compiler found (neither the project nor Weir has the typescript package): running the job without a type check.\n')
  else if (checked.errors.length > 0) throwTypeErrors(jobPath, checked)
}

/** The job's outcome on stderr: plain lines, or (with JSON logs) log records with the same messages. */
function report(result: JobResult, signalExit: number | null, execution: JobExecution, json: Logger | null): number {
  const seconds = (result.durationMs / 1000).toFixed(2)
  const fields = { jobId: result.jobId, status: result.status, durationMs: Math.round(result.durationMs), restarts: result.restarts, checkpoints: result.checkpoints.completed }
  const say = (level: 'info' | 'error', text: string, extra: Record<string, unknown> = {}) => {
    if (json) json[level]({ ...fields, ...extra }, text.replace(/\n$/, ''))
    else process.stderr.write(text)
  }
  if (result.status === 'FINISHED') {
    say('info', `Job '${result.jobName}' finished in ${seconds}s: ${result.recordsIn} record(s) in, ${result.recordsOut} out.\n`, { recordsIn: result.recordsIn, recordsOut: result.recordsOut })
    return 0
  }
  if (result.status === 'CANCELED') {
    const by = signalExit === EXIT_SIGINT ? 'SIGINT' : signalExit === EXIT_SIGTERM ? 'SIGTERM' : 'a cancel request'
    say('info', `Job '${result.jobName}' canceled (by ${by}) after ${seconds}s: ${result.recordsIn} record(s) in, ${result.recordsOut} out.\n`, { recordsIn: result.recordsIn, recordsOut: result.recordsOut })
    return signalExit ?? EXIT_CANCELED
  }
  say('error', describeFailure(result.jobName, result.error!), { code: result.error!.code })
  const latest = execution.coordinator?.latest
  // Only a checkpoint that is still there (its directory may have vanished with the disk).
  if (latest?.dir && execution.checkpointOptions.retention !== 'NO_EXTERNALIZED_CHECKPOINTS' && existsSync(metadataPath(latest.dir))) {
    say('info', `The latest checkpoint is retained; resume with: weir run --from-checkpoint ${latest.dir} <job>\n`, { checkpoint: latest.dir })
  }
  return EXIT_FAILED
}

export function describeFailure(jobName: string, error: WeirError): string {
  const userStack = (error as WeirError & { userStack?: string }).userStack
  let text = `Job '${jobName}' failed: ${error.message}\n`
  if (userStack) text += `${indent(userStack)}\n`
  else if (error.domain === 'internal' && error.stack) text += `${indent(error.stack)}\n`
  return text
}

function indent(s: string): string {
  return s.split('\n').map((l) => `    ${l.trimStart().startsWith('at ') ? l.trim() : l}`).join('\n')
}
