// `weir jobmanager`, `weir taskmanager [start|stop]` and `weir cluster start|stop`: the
// processes of a standalone cluster, like Flink's jobmanager.sh, taskmanager.sh,
// start-cluster.sh and stop-cluster.sh. In the foreground a process logs to stderr and stops on
// SIGINT / SIGTERM; `start` runs it in the background with a pid file and one log file each
// (weir-jobmanager-0.log, weir-taskmanager-<i>.log; stdout, where print sinks write, in .out)
// under --dir.

import { spawn } from 'node:child_process'
import { existsSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { ensureDirSync } from '../io/directories.ts'
import { join, resolve } from 'node:path'
import { Configuration } from '../config/configuration.ts'
import { JOBMANAGER_RPC_ADDRESS, JOBMANAGER_RPC_PORT, REST_BIND_ADDRESS, REST_PORT } from '../config/options.ts'
import { UserError } from '../errors.ts'
import { resolveConfig } from './run.ts'
import { RestClient } from '../rest/client.ts'

export interface DaemonOptions {
  define?: string[]
  config?: string
  /** taskmanager: host:port of the JobManager's RPC endpoint (shorthand for the two -D keys). */
  rpc?: string
  dir?: string
  taskmanagers?: string
}

export const DEFAULT_CLUSTER_DIR = 'weir-cluster'
const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 30_000

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`)
}

function configOf(options: DaemonOptions): Configuration {
  const raw = resolveConfig({ define: options.define, config: options.config })
  if (options.rpc) {
    const m = /^(.+):(\d+)$/.exec(options.rpc)
    if (!m) throw new UserError('WEIR_INVALID_ARGUMENT', `--rpc expects host:port of the JobManager's RPC endpoint, got '${options.rpc}'`)
    raw['jobmanager.rpc.address'] = m[1]!
    raw['jobmanager.rpc.port'] = m[2]!
  }
  return new Configuration(raw)
}

/** Runs until SIGINT / SIGTERM, then closes `process` and returns 0. */
async function untilSignal(close: () => Promise<void>): Promise<number> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  log('Shutting down')
  await close()
  return 0
}

/** `weir jobmanager` in the foreground. */
export async function jobmanagerCommand(options: DaemonOptions): Promise<number> {
  const { JobManagerProcess } = await import('../cluster/job-manager.ts')
  const config = configOf(options)
  let jm
  try {
    jm = await JobManagerProcess.start(config, log)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (err.code === 'EADDRINUSE') throw new UserError('WEIR_INVALID_CONFIG', `a port of the JobManager is in use (${err.message}): is a JobManager running already? Choose others with -D jobmanager.rpc.port=N / -D rest.port=N`)
    throw e
  }
  return untilSignal(() => jm.close())
}

/** `weir taskmanager` in the foreground. */
export async function taskmanagerCommand(options: DaemonOptions): Promise<number> {
  const { TaskManagerProcess } = await import('../cluster/task-manager-process.ts')
  const config = configOf(options)
  log(`TaskManager: registering at the JobManager at ${config.get(JOBMANAGER_RPC_ADDRESS)}:${config.get(JOBMANAGER_RPC_PORT)}`)
  const tm = await TaskManagerProcess.start(config, log)
  return untilSignal(() => tm.close())
}

function forwardedArgs(options: DaemonOptions): string[] {
  const args: string[] = []
  for (const d of options.define ?? []) args.push('-D', d)
  if (options.config) args.push('-c', resolve(options.config))
  if (options.rpc) args.push('--rpc', options.rpc)
  return args
}

function pidFile(dir: string, role: 'jobmanager' | 'taskmanager', index: number): string {
  return join(dir, `weir-${role}-${index}.pid`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A killed daemon whose parent (init in a container) has not reaped it yet still answers
  // signal 0: on Linux its state in /proc is Z (zombie), and it is gone for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** Starts `weir <role>` in the background; returns its pid. */
function startDaemon(dir: string, role: 'jobmanager' | 'taskmanager', index: number, options: DaemonOptions): number {
  ensureDirSync(dir)
  const base = join(dir, `weir-${role}-${index}`)
  const out = openSync(`${base}.out`, 'a')
  const err = openSync(`${base}.log`, 'a')
  // The same Node flags (e.g. tsx when run from sources) and the same `weir` entry as this process.
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, role, ...forwardedArgs(options)], { detached: true, stdio: ['ignore', out, err] })
  closeSync(out)
  closeSync(err)
  child.unref()
  writeFileSync(pidFile(dir, role, index), `${child.pid}\n`)
  return child.pid!
}

function runningTaskManagers(dir: string): Array<{ index: number; pid: number }> {
  if (!existsSync(dir)) return []
  const found: Array<{ index: number; pid: number }> = []
  for (const name of readdirSync(dir)) {
    const m = /^weir-taskmanager-(\d+)\.pid$/.exec(name)
    if (!m) continue
    const pid = readPid(join(dir, name))
    if (pid !== null && isAlive(pid)) found.push({ index: Number(m[1]), pid })
    else rmSync(join(dir, name), { force: true })
  }
  return found.sort((a, b) => a.index - b.index)
}

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, logFile: string, pid: number): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS
  while (Date.now() < until) {
    if (await probe()) return
    if (!isAlive(pid)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : ''
  throw new UserError('WEIR_INVALID_ARGUMENT', `${what} did not come up${isAlive(pid) ? ` within ${START_TIMEOUT_MS / 1000}s` : ' (the process exited)'}; see ${logFile}${tail ? `:\n${tail}` : ''}`)
}

function restClient(config: Configuration): RestClient {
  const host = config.get(REST_BIND_ADDRESS) ?? '127.0.0.1'
  return new RestClient({ host: host === '0.0.0.0' ? '127.0.0.1' : host, port: config.get(REST_PORT) }, 2_000)
}

async function taskManagerCount(client: RestClient): Promise<number> {
  try {
    return (await client.get<{ taskmanagers: unknown[] }>('/taskmanagers')).taskmanagers.length
  } catch {
    return -1
  }
}

/** `weir taskmanager start`: one more TaskManager in the background; it registers before this returns. */
export async function taskmanagerStartCommand(options: DaemonOptions): Promise<number> {
  const dir = resolve(options.dir ?? DEFAULT_CLUSTER_DIR)
  const config = configOf(options)
  const client = restClient(config)
  const before = await taskManagerCount(client)
  const used = new Set(runningTaskManagers(dir).map((t) => t.index))
  let index = 0
  while (used.has(index)) index++
  const pid = startDaemon(dir, 'taskmanager', index, options)
  const logFile = join(dir, `weir-taskmanager-${index}.log`)
  if (before >= 0) await waitFor(`TaskManager ${index}`, async () => (await taskManagerCount(client)) > before, logFile, pid)
  process.stdout.write(`Started TaskManager ${index} (pid ${pid}); log ${logFile}, stdout ${join(dir, `weir-taskmanager-${index}.out`)}\n`)
  return 0
}

/** `weir taskmanager stop`: stops the TaskManager started last (as taskmanager.sh stop does). */
export async function taskmanagerStopCommand(options: DaemonOptions): Promise<number> {
  const dir = resolve(options.dir ?? DEFAULT_CLUSTER_DIR)
  const last = runningTaskManagers(dir).at(-1)
  if (!last) {
    process.stderr.write(`No TaskManager is running from ${dir}.\n`)
    return 1
  }
  await stopPid(last.pid)
  rmSync(pidFile(dir, 'taskmanager', last.index), { force: true })
  process.stdout.write(`Stopped TaskManager ${last.index} (pid ${last.pid}).\n`)
  return 0
}

/** `weir cluster start`: a JobManager and N TaskManagers in the background. */
export async function clusterStartCommand(options: DaemonOptions): Promise<number> {
  const dir = resolve(options.dir ?? DEFAULT_CLUSTER_DIR)
  const n = Number(options.taskmanagers ?? '1')
  if (!Number.isSafeInteger(n) || n < 0) throw new UserError('WEIR_INVALID_ARGUMENT', `--taskmanagers expects a number, got '${options.taskmanagers}'`)
  const existing = readPid(pidFile(dir, 'jobmanager', 0))
  if (existing !== null && isAlive(existing)) throw new UserError('WEIR_INVALID_ARGUMENT', `a JobManager (pid ${existing}) is already running from ${dir}; stop it with: weir cluster stop --dir ${dir}`)
  const config = configOf(options)
  const client = restClient(config)
  const pid = startDaemon(dir, 'jobmanager', 0, options)
  const jmLog = join(dir, 'weir-jobmanager-0.log')
  await waitFor('The JobManager', async () => (await taskManagerCount(client)) >= 0, jmLog, pid)
  process.stdout.write(`Started JobManager (pid ${pid}); REST API at http://${client.endpoint.host}:${client.endpoint.port}, RPC at ${config.get(JOBMANAGER_RPC_ADDRESS)}:${config.get(JOBMANAGER_RPC_PORT)}; log ${jmLog}\n`)
  for (let i = 0; i < n; i++) await taskmanagerStartCommand({ ...options, dir })
  return 0
}

/** `weir cluster stop`: every TaskManager, then the JobManager. */
export async function clusterStopCommand(options: DaemonOptions): Promise<number> {
  const dir = resolve(options.dir ?? DEFAULT_CLUSTER_DIR)
  let stopped = 0
  for (const tm of runningTaskManagers(dir)) {
    await stopPid(tm.pid)
    rmSync(pidFile(dir, 'taskmanager', tm.index), { force: true })
    process.stdout.write(`Stopped TaskManager ${tm.index} (pid ${tm.pid}).\n`)
    stopped++
  }
  const jm = readPid(pidFile(dir, 'jobmanager', 0))
  if (jm !== null && isAlive(jm)) {
    await stopPid(jm)
    process.stdout.write(`Stopped JobManager (pid ${jm}).\n`)
    stopped++
  }
  rmSync(pidFile(dir, 'jobmanager', 0), { force: true })
  if (stopped === 0) process.stdout.write(`Nothing was running from ${dir}.\n`)
  return 0
}

/** SIGTERM, then SIGKILL if the process is still there after STOP_TIMEOUT_MS. */
async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const until = Date.now() + STOP_TIMEOUT_MS
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
}
