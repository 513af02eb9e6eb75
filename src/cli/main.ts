// The `weir` command line. Options before the job file are Weir's; everything after it belongs
// to the job, as with `flink run`.

import { Command, CommanderError } from 'commander'
import { runCommand } from './run.ts'
import { checkpointsCommand } from './checkpoints.ts'
import { cancelCommand, listCommand, savepointCommand, stopCommand } from './control.ts'
import { isWeirError } from '../errors.ts'
import { WEIR_VERSION } from '../version.ts'

const EXIT_USAGE = 2

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('weir')
    .description('Weir: stateful stream processing for TypeScript, with checkpoints')
    .version(WEIR_VERSION, '-V, --version', 'print the version of Weir and exit')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `weir: ${s.slice(7)}` : s) })
    .showHelpAfterError('(run weir --help for usage)')

  let exitCode = 0
  program
    .command('run')
    .description('run a job on an embedded mini cluster (one slot per core)')
    .argument('<job>', 'the job module (.ts or .js) that default-exports defineJob(...)')
    .argument('[args...]', "the job's own arguments (env.args / env.params)")
    .option('-p, --parallelism <n>', 'default parallelism (default: number of cores)')
    .option('-D, --define <key=value>', 'set a configuration key, e.g. -D pipeline.max-parallelism=256 (repeatable)', collect, [])
    .option('-c, --config <file>', 'read configuration from a YAML file (default: ./weir.yaml if present)')
    .option('-s, --from-savepoint <path>', 'resume from a savepoint or retained checkpoint (directory or its _metadata)')
    .option('--from-checkpoint <path>', "resume from a retained checkpoint; 'latest' picks the newest complete one under execution.checkpointing.dir")
    .option('-n, --allow-non-restored-state', 'skip stored state whose operator (uid) is no longer in the job')
    .option('--allow-duplicate-output', 'restore even from a checkpoint older than output an exactly-once sink already committed (that output is written again); same as -D execution.state-recovery.allow-duplicate-output=true')
    .option('--no-status', 'do not draw the status line on a terminal')
    .option('-m, --jobmanager <host:port>', "submit to a standalone JobManager's REST endpoint (weir cluster start) instead of an embedded mini cluster")
    .option('-d, --detached', 'with -m: print the job id and return; the job runs on')
    .option('--shutdown-on-attached-exit', 'with -m: cancel the job when this command is interrupted (Ctrl-C); Flink\'s -sae works too')
    .option('--log-format <format>', 'json (one JSON object per line) or human; default: human on a terminal, json otherwise')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent (default: info); debug adds every task\'s lifecycle')
    .option('--no-typecheck', 'run a TypeScript job without type-checking it first')
    .passThroughOptions()
    .action(async (job: string, args: string[], options) => {
      exitCode = await runCommand(job, args, options)
    })

  program
    .command('check')
    .description('type-check a job file (as weir run does before it starts the job) and exit: 0 without errors, 1 with')
    .argument('<job>', 'the job module (.ts)')
    .action(async (job: string) => {
      const { checkCommand } = await import('./check.ts')
      exitCode = await checkCommand(job)
    })

  program
    .command('checkpoints')
    .description('list retained checkpoints (id, time, size, status) under a checkpoints directory')
    .argument('[dir]', 'the checkpoints directory (default: execution.checkpointing.dir from weir.yaml / -D)')
    .option('-D, --define <key=value>', 'configuration, as for run', collect, [])
    .option('-c, --config <file>', 'configuration file, as for run')
    .action(async (dir: string | undefined, options) => {
      exitCode = await checkpointsCommand(dir, options)
    })

  program
    .command('state')
    .description('look into stored state')
    .command('inspect')
    .description('print what a checkpoint or savepoint holds, as JSON')
    .argument('<path>', 'a checkpoint or savepoint directory (or its _metadata)')
    .option('--operator <uid>', 'only this operator')
    .option('--key <key>', 'only this key (as text; composite keys as JSON)')
    .action(async (path: string, options) => {
      const { inspectState } = await import('./state-inspect.ts')
      process.stdout.write(`${JSON.stringify(await inspectState(path, options), (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Map ? Object.fromEntries(v) : v), 2)}\n`)
    })

  const daemon = (cmd: Command) => cmd
    .option('-D, --define <key=value>', 'set a configuration key (repeatable)', collect, [])
    .option('-c, --config <file>', 'read configuration from a YAML file (default: ./weir.yaml if present)')
  const cluster = program.command('cluster').description('start or stop a standalone cluster in the background (like start-cluster.sh / stop-cluster.sh)')
  daemon(cluster.command('start').description('start a JobManager and TaskManagers in the background, with pid and log files under --dir'))
    .option('--taskmanagers <n>', 'TaskManagers to start', '1')
    .option('--dir <dir>', 'where pid files and logs go', 'weir-cluster')
    .action(async (options) => {
      const { clusterStartCommand } = await import('./cluster.ts')
      exitCode = await clusterStartCommand(options)
    })
  cluster.command('stop').description('stop the TaskManagers and the JobManager started from --dir')
    .option('--dir <dir>', 'where the pid files are', 'weir-cluster')
    .action(async (options) => {
      const { clusterStopCommand } = await import('./cluster.ts')
      exitCode = await clusterStopCommand(options)
    })
  daemon(program.command('jobmanager').description('run a JobManager in the foreground: RPC on jobmanager.rpc.port (6123), REST API on rest.port (8081)'))
    .action(async (options) => {
      const { jobmanagerCommand } = await import('./cluster.ts')
      exitCode = await jobmanagerCommand(options)
    })
  const taskmanager = daemon(program.command('taskmanager').description('run a TaskManager in the foreground; start / stop run one in the background (like taskmanager.sh)'))
    .option('--rpc <host:port>', 'the JobManager RPC endpoint (shorthand for -D jobmanager.rpc.address=HOST -D jobmanager.rpc.port=PORT)')
    .action(async (options) => {
      const { taskmanagerCommand } = await import('./cluster.ts')
      exitCode = await taskmanagerCommand(options)
    })
  daemon(taskmanager.command('start').description('start one more TaskManager in the background; it joins the running cluster'))
    .option('--rpc <host:port>', 'the JobManager RPC endpoint')
    .option('--dir <dir>', 'where pid files and logs go', 'weir-cluster')
    .action(async (options) => {
      const { taskmanagerStartCommand } = await import('./cluster.ts')
      exitCode = await taskmanagerStartCommand(options)
    })
  taskmanager.command('stop').description('stop the TaskManager started last from --dir')
    .option('--dir <dir>', 'where the pid files are', 'weir-cluster')
    .action(async (options) => {
      const { taskmanagerStopCommand } = await import('./cluster.ts')
      exitCode = await taskmanagerStopCommand(options)
    })

  const jobmanagerFlags = '-m, --jobmanager <host:port>'
  const jobmanagerHelp = 'the JobManager REST API to talk to'
  program
    .command('list')
    .alias('jobs')
    .description("list the jobs of a JobManager: id, status, start time, duration, restarts, checkpoints (completed/triggered), the latest checkpoint's size and duration, and name (via its REST API)")
    .option(jobmanagerFlags, jobmanagerHelp, 'localhost:8081')
    .action(async (options) => {
      exitCode = await listCommand(options)
    })

  program
    .command('savepoint')
    .description('take a savepoint of a running job; prints its path when it completed')
    .argument('<job-id>', 'the job (32 hex characters; see weir list)')
    .argument('[target-dir]', "where to write the savepoint (default: the job's execution.checkpointing.savepoint-dir)")
    .option(jobmanagerFlags, jobmanagerHelp, 'localhost:8081')
    .action(async (jobId: string, targetDir: string | undefined, options) => {
      exitCode = await savepointCommand(jobId, targetDir, options)
    })

  program
    .command('stop')
    .description('stop a job with a savepoint: sources stop, the savepoint completes, the job finishes')
    .argument('<job-id>', 'the job (32 hex characters; see weir list)')
    .option('-p, --savepoint-path <dir>', "where to write the savepoint (default: the job's execution.checkpointing.savepoint-dir)")
    .option('-d, --drain', 'end the sources first and process everything in flight, so the savepoint is the final state')
    .option(jobmanagerFlags, jobmanagerHelp, 'localhost:8081')
    .action(async (jobId: string, options) => {
      exitCode = await stopCommand(jobId, options)
    })

  program
    .command('cancel')
    .description('cancel a running job; returns once it is CANCELED')
    .argument('<job-id>', 'the job (32 hex characters; see weir list)')
    .option(jobmanagerFlags, jobmanagerHelp, 'localhost:8081')
    .action(async (jobId: string, options) => {
      exitCode = await cancelCommand(jobId, options)
    })

  try {
    // Flink's multi-letter short flag of `run`.
    await program.parseAsync(argv.map((a, i) => (a === '-sae' && argv[0] === 'run' && i < firstPositional(argv) ? '--shutdown-on-attached-exit' : a)), { from: 'user' })
    return exitCode
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : EXIT_USAGE
    }
    if (isWeirError(e) && e.domain === 'user') {
      process.stderr.write(`weir: ${e.message}\n`)
      return EXIT_USAGE
    }
    const err = e as Error
    process.stderr.write(`weir: ${err.message}\n`)
    if (!isWeirError(e)) process.stderr.write(`${err.stack}\n`)
    return 1
  }
}

/** Index of the job file in `weir run ... job.ts ...` (options before it are Weir's). */
function firstPositional(argv: string[]): number {
  const i = argv.findIndex((a, n) => n > 0 && /\.(m?[jt]s)$/.test(a) && !a.startsWith('-'))
  return i < 0 ? argv.length : i
}
