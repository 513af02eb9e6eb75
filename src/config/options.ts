// Every configuration key Weir understands, with Flink's name, its type, its default and a
// description. This is the one place where defaults are declared. Keys are Flink 2's; where
// Flink 2 renamed a key, the 1.x name is a fallback key (accepted everywhere, read only when the
// Flink 2 name is not set), as Flink's ConfigOption.withFallbackKeys does.

import { parseDuration } from './duration.ts'
import { UserError } from '../errors.ts'
import { availableParallelism } from 'node:os'

export interface ConfigOption<T> {
  /** The canonical (Flink 2) name: the one docs and messages use. */
  readonly key: string
  /** Older names (Flink 1.x) that set the same option; the canonical key wins when both are set. */
  readonly fallbackKeys: readonly string[]
  readonly description: string
  /** The default; a function when it depends on the machine. */
  readonly defaultValue: T | (() => T)
  /** 'duration' for values in milliseconds (written as Flink durations: 500ms, 1s, 10 min). */
  readonly kind?: 'duration'
  /** Parses the textual form (from -D or a config file); throws UserError naming the key. */
  parse(raw: unknown): T
}

function fail(key: string, raw: unknown, expected: string): never {
  throw new UserError('WEIR_INVALID_CONFIG', `invalid value for ${key}: '${String(raw)}' (expected ${expected})`)
}

export function intOption(key: string, defaultValue: number | (() => number), description: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): ConfigOption<number> {
  return {
    key, fallbackKeys: [], defaultValue, description,
    parse(raw) {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN
      if (!Number.isSafeInteger(n)) fail(key, raw, 'an integer')
      if (n < min || n > max) fail(key, raw, `an integer between ${min} and ${max}`)
      return n
    },
  }
}

export function boolOption(key: string, defaultValue: boolean, description: string): ConfigOption<boolean> {
  return {
    key, fallbackKeys: [], defaultValue, description,
    parse(raw) {
      if (typeof raw === 'boolean') return raw
      if (raw === 'true') return true
      if (raw === 'false') return false
      return fail(key, raw, 'true or false')
    },
  }
}

/** A duration in milliseconds; null means "not set" where the option allows it. */
export function durationOption(key: string, defaultValue: number | null, description: string): ConfigOption<number | null> {
  return {
    key, fallbackKeys: [], defaultValue, description, kind: 'duration',
    parse(raw) {
      if (typeof raw === 'number' && raw >= 0) return raw
      if (typeof raw !== 'string') return fail(key, raw, 'a duration such as 500ms, 1s or 10 min')
      return parseDuration(raw, key)
    },
  }
}

export function enumOption<const T extends string>(key: string, values: readonly T[], defaultValue: T | null, description: string): ConfigOption<T | null> {
  return {
    key, fallbackKeys: [], defaultValue, description,
    parse(raw) {
      const text = String(raw).trim()
      const found = values.find((v) => v.toLowerCase() === text.toLowerCase())
      if (found === undefined) fail(key, raw, `one of ${values.join(', ')}`)
      return found
    },
  }
}

export function stringOption(key: string, defaultValue: string | null, description: string): ConfigOption<string | null> {
  return {
    key, fallbackKeys: [], defaultValue, description,
    parse(raw) {
      if (typeof raw !== 'string' && typeof raw !== 'number') fail(key, raw, 'a string')
      return String(raw)
    },
  }
}

/** The same option, also set by its older names. */
export function withFallbackKeys<T>(option: ConfigOption<T>, ...fallbackKeys: string[]): ConfigOption<T> {
  return { ...option, fallbackKeys }
}

export const PARALLELISM_DEFAULT = intOption('parallelism.default', () => availableParallelism(), 'Parallelism of operators that set none (default: the number of cores).', 1, 32768)
export const MAX_PARALLELISM = notZero(intOption('pipeline.max-parallelism', -1, 'Upper bound for rescaling keyed state: the number of key groups. -1 derives it from the parallelism (at least 128), or on a restore takes it from the checkpoint or savepoint.', -1, 32768))

/** As Flink: -1 means "derive", 0 is no max parallelism at all. */
function notZero(option: ConfigOption<number>): ConfigOption<number> {
  return {
    ...option,
    parse(raw) {
      const n = option.parse(raw)
      if (n === 0) fail(option.key, raw, 'an integer between 1 and 32768, or -1 to derive it')
      return n
    },
  }
}
export const OBJECT_REUSE = boolOption('pipeline.object-reuse', false, 'Whether records passed between chained operators may be reused (Weir never copies them; kept for Flink compatibility).')
export const OPERATOR_CHAINING = boolOption('pipeline.operator-chaining.enabled', true, 'Chain operators that need no redistribution into one task (a `keyBy` between two operators of parallelism 1 included).')
export const BUFFER_TIMEOUT = withFallbackKeys(durationOption('execution.buffer-timeout.interval', 100, 'The longest a partly filled network buffer waits before it is sent.'), 'execution.buffer-timeout')
export const NETWORK_BATCH_RECORDS = intOption('taskmanager.network.batch-records', 1024, 'Records per network buffer (batch) between tasks.', 1, 1 << 20)
export const NETWORK_CREDITS = intOption('taskmanager.network.credits-per-channel', 4, 'Buffers a receiver grants each input channel: the back-pressure window.', 1, 1024)
export const NETWORK_LOCAL_TRANSPORT = enumOption('taskmanager.network.local-transport', ['shared-memory', 'message-port'] as const, 'message-port', 'How slots of one process exchange batches: transferred buffers over MessagePorts (message-port), or SharedArrayBuffer rings with Atomics wake-ups (shared-memory: no faster than message-port in the word count benchmark; a wake-up a worker\'s idle loop misses is made up for within 10 ms).')
export const SLOT_THREADS = intOption('taskmanager.slot-threads', 0, 'Worker threads a TaskManager runs its slots in. 0: one per slot up to twice the cores (at least 4); more slots share these threads, each slot keeping its own tasks, channels and checkpoints.', 0, 1024)
export const SPARE_SLOT_THREADS = intOption('taskmanager.spare-slot-threads', -1, 'Worker threads a TaskManager keeps started, with Weir\'s runtime loaded, for its next deployment: a restart after a failure then skips the start of its threads and the loading of the runtime (a few hundred ms each). A thread that ran slots is never reused; a fresh spare starts once the new slots run. -1: as many as the TaskManager\'s slots use for `weir taskmanager`, none for the embedded TaskManager of `weir run`. An idle spare holds about 20 MiB (measured: a TaskManager with 4 slots, 77 MiB RSS without spares, 163 MiB with 4).', -1, 1024)
export const TASK_SLOTS = intOption('taskmanager.numberOfTaskSlots', -1, 'Slots of the embedded TaskManager. -1: as many as the highest operator parallelism.', -1, 1024)
export const REST_PORT = intOption('rest.port', 8081, 'Port of the REST API.', 0, 65535)
// Cluster mode (Flink's names and defaults).
export const JOBMANAGER_RPC_ADDRESS = stringOption('jobmanager.rpc.address', 'localhost', 'Address of the JobManager\'s RPC endpoint: where it listens, and where TaskManagers register.')
export const JOBMANAGER_RPC_PORT = intOption('jobmanager.rpc.port', 6123, 'Port of the JobManager\'s RPC endpoint.', 0, 65535)
export const TASKMANAGER_HOST = stringOption('taskmanager.host', null, 'Address a TaskManager\'s data plane listens on and tells the JobManager (default: 127.0.0.1).')
export const TASKMANAGER_DATA_PORT = intOption('taskmanager.data.port', 0, 'First data port of a TaskManager: slot i listens on this port + i (0: any free ports).', 0, 65535)
export const HEARTBEAT_INTERVAL = durationOption('heartbeat.interval', 10_000, 'How often the JobManager and TaskManagers send each other heartbeats.')
export const HEARTBEAT_TIMEOUT = durationOption('heartbeat.timeout', 50_000, 'A peer not heard from for this long is lost (a dropped connection is lost at once).')
export const HA_STORAGE_DIR = stringOption('high-availability.storageDir', null, 'Directory where a standalone JobManager keeps its jobs and their latest checkpoint pointers (default: in memory).')
export const SLOT_REQUEST_TIMEOUT = durationOption('slot.request.timeout', 300_000, 'How long a job waits for enough free slots before it fails.')
export const REST_BIND_ADDRESS = stringOption('rest.bind-address', '127.0.0.1', 'Address the REST API listens on. The API can cancel jobs and write savepoints anywhere the JobManager may write: listen beyond 127.0.0.1 (0.0.0.0: every interface) only on a trusted network.')

export function doubleOption(key: string, defaultValue: number, description: string, min = -Infinity, max = Infinity): ConfigOption<number> {
  return {
    key, fallbackKeys: [], defaultValue, description,
    parse(raw) {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN
      if (!Number.isFinite(n) || n < min || n > max) fail(key, raw, `a number between ${min} and ${max}`)
      return n
    },
  }
}

// Checkpointing (Flink's names and defaults).
export const CHECKPOINTING_INTERVAL = durationOption('execution.checkpointing.interval', null, 'Interval between checkpoints; checkpointing is off unless set.')
export const CHECKPOINTING_MODE = enumOption('execution.checkpointing.mode', ['EXACTLY_ONCE', 'AT_LEAST_ONCE'] as const, 'EXACTLY_ONCE', 'EXACTLY_ONCE aligns barriers; AT_LEAST_ONCE does not hold channels back and may replay records.')
export const CHECKPOINTING_TIMEOUT = durationOption('execution.checkpointing.timeout', 600_000, 'A checkpoint not complete after this long is aborted (expired).')
export const CHECKPOINTING_MIN_PAUSE = durationOption('execution.checkpointing.min-pause', 0, 'Least time between the end of one checkpoint and the start of the next.')
export const CHECKPOINTING_MAX_CONCURRENT = intOption('execution.checkpointing.max-concurrent-checkpoints', 1, 'Checkpoints that may be in progress at once.', 1, 1000)
export const CHECKPOINTING_TOLERABLE_FAILURES = intOption('execution.checkpointing.tolerable-failed-checkpoints', 0, 'Consecutive checkpoint failures tolerated before the job fails.', 0, Number.MAX_SAFE_INTEGER)
export const CHECKPOINTING_RETENTION = enumOption('execution.checkpointing.externalized-checkpoint-retention', ['DELETE_ON_CANCELLATION', 'RETAIN_ON_CANCELLATION', 'NO_EXTERNALIZED_CHECKPOINTS'] as const, 'NO_EXTERNALIZED_CHECKPOINTS', 'Whether completed checkpoints outlive the job: kept on failure (DELETE_ON_CANCELLATION), also on cancellation (RETAIN_ON_CANCELLATION), or deleted when the job ends (NO_EXTERNALIZED_CHECKPOINTS).')
export const CHECKPOINTING_UNALIGNED = withFallbackKeys(boolOption('execution.checkpointing.unaligned.enabled', false, 'Let barriers overtake buffered records and store those records in the checkpoint.'), 'execution.checkpointing.unaligned')
export const CHECKPOINTING_ALIGNED_TIMEOUT = withFallbackKeys(durationOption('execution.checkpointing.aligned-checkpoint-timeout', 0, 'With unaligned checkpoints on: start aligned, switch to unaligned when alignment takes longer than this (0: unaligned from the start).'), 'execution.checkpointing.alignment-timeout')
export const CHECKPOINTS_DIR = withFallbackKeys(stringOption('execution.checkpointing.dir', null, 'Directory (or s3://bucket/prefix) for checkpoint files and metadata.'), 'state.checkpoints.dir')
export const CHECKPOINTS_NUM_RETAINED = withFallbackKeys(intOption('execution.checkpointing.num-retained', 1, 'Completed checkpoints to keep.', 1, 10_000), 'state.checkpoints.num-retained')
export const CHECKPOINT_STORAGE = withFallbackKeys(enumOption('execution.checkpointing.storage', ['jobmanager', 'filesystem'] as const, null, 'Where checkpoints go: the JobManager\'s memory (default without a directory) or the file system (default with execution.checkpointing.dir).'), 'state.checkpoint-storage')
export const SAVEPOINTS_DIR = withFallbackKeys(stringOption('execution.checkpointing.savepoint-dir', null, 'Default directory (or s3://bucket/prefix) for savepoints; a target directory given through the REST API (and weir savepoint / stop) must lie inside it.'), 'state.savepoints.dir')
// Named like Flink 2's execution.state-recovery.* keys (ignore-unclaimed-state is its sibling).
export const ALLOW_DUPLICATE_OUTPUT = boolOption('execution.state-recovery.allow-duplicate-output', false, 'Restore from a checkpoint or savepoint older than one whose output an exactly-once sink already committed (refused by default): the output of the checkpoints in between is written again, as duplicates.')
export const REST_SAVEPOINTS_ALLOW_ANY_TARGET = boolOption('rest.savepoints.allow-any-target-directory', false, 'Let REST savepoint and stop requests write to any directory the JobManager may write, not only inside execution.checkpointing.savepoint-dir.')

// S3 checkpoint and savepoint storage (execution.checkpointing.dir / savepoint-dir: s3://bucket/prefix), with Flink's option names.
export const S3_ENDPOINT = stringOption('s3.endpoint', null, 'The S3 endpoint (default: AWS for s3.region); e.g. http://127.0.0.1:9000 for a local S3-protocol server.')
export const S3_ACCESS_KEY = stringOption('s3.access-key', null, 'S3 access key (default: the AWS SDK\'s credential chain).')
export const S3_SECRET_KEY = stringOption('s3.secret-key', null, 'S3 secret key.')
export const S3_PATH_STYLE_ACCESS = boolOption('s3.path.style.access', false, 'Address buckets as endpoint/bucket (path style) rather than bucket.endpoint.')
export const S3_REGION = stringOption('s3.region', 'us-east-1', 'The S3 region.')

// State backends.
export const STATE_BACKEND = withFallbackKeys(enumOption('state.backend.type', ['hashmap', 'lmdb'] as const, 'hashmap', 'Where keyed state lives: the heap (hashmap) or an embedded LMDB store on local disk (lmdb), for state larger than memory.'), 'state.backend')
export const STATE_BACKEND_INCREMENTAL = withFallbackKeys(boolOption('execution.checkpointing.incremental', false, 'Checkpoints write only what changed since the previous completed checkpoint (lmdb and hashmap; needs filesystem checkpoint storage).'), 'state.backend.incremental')
export const LMDB_CACHE_SIZE = intOption('state.backend.lmdb.cache-size', 100_000, 'lmdb: per operator, the entries its cache holds in memory, decoded: values read from LMDB, kept current by the commits (evicted oldest first, keys written in the last batch spared), and writes held back until half as many distinct keys are written, then committed to LMDB in one batch that the lmdb-js write thread applies while records flow (at most two batches in flight, and a commit waits for the older ones while those in flight hold more than 64 MiB of values; until one lands, its writes are read from memory; writes of hot keys, written again with new values since the last commit, up to a quarter of the cache size, stay held). A checkpoint freezes the held writes and pins a read transaction (nothing is committed or copied on the task thread).', 1, 10_000_000)
export const LMDB_LOCAL_DIR = stringOption('state.backend.lmdb.localdir', null, 'lmdb: directory for the working databases (default: the system temp directory).')

// Restart strategies (Flink's names and defaults).
export const RESTART_STRATEGY = withFallbackKeys(enumOption('restart-strategy.type', ['none', 'off', 'disable', 'fixed-delay', 'fixeddelay', 'failure-rate', 'failurerate', 'exponential-delay', 'exponentialdelay'] as const, null, 'none, fixed-delay, failure-rate or exponential-delay. Default: none without checkpointing, exponential-delay with it.'), 'restart-strategy')
export const FIXED_DELAY_ATTEMPTS = intOption('restart-strategy.fixed-delay.attempts', 1, 'Restarts before the job fails.', 0, Number.MAX_SAFE_INTEGER)
export const FIXED_DELAY_DELAY = durationOption('restart-strategy.fixed-delay.delay', 1000, 'Wait before each restart.')
export const FAILURE_RATE_MAX_FAILURES = intOption('restart-strategy.failure-rate.max-failures-per-interval', 1, 'Failures within the interval before the job fails.', 1, Number.MAX_SAFE_INTEGER)
export const FAILURE_RATE_INTERVAL = durationOption('restart-strategy.failure-rate.failure-rate-interval', 60_000, 'Window over which failures are counted.')
export const FAILURE_RATE_DELAY = durationOption('restart-strategy.failure-rate.delay', 1000, 'Wait before each restart.')
export const EXP_INITIAL_BACKOFF = durationOption('restart-strategy.exponential-delay.initial-backoff', 1000, 'First wait before a restart.')
export const EXP_MAX_BACKOFF = durationOption('restart-strategy.exponential-delay.max-backoff', 60_000, 'Longest wait before a restart.')
export const EXP_MULTIPLIER = doubleOption('restart-strategy.exponential-delay.backoff-multiplier', 1.5, 'Factor applied to the wait after each failure.', 1)
export const EXP_RESET_THRESHOLD = durationOption('restart-strategy.exponential-delay.reset-backoff-threshold', 3_600_000, 'Running this long without failure resets the wait to the initial backoff.')
export const EXP_JITTER = doubleOption('restart-strategy.exponential-delay.jitter-factor', 0.1, 'Random spread applied to each wait, as a fraction of it.', 0, 1)
export const EXP_ATTEMPTS = intOption('restart-strategy.exponential-delay.attempts-before-reset-backoff', Number.MAX_SAFE_INTEGER, 'Restarts allowed before the wait resets; more fail the job.', 0, Number.MAX_SAFE_INTEGER)

// Observability.
export const WEB_CHECKPOINTS_HISTORY = intOption('web.checkpoints.history', 10, 'Checkpoints whose statistics (with per-subtask details) the REST API and web UI keep; counts and the summary cover every checkpoint.', 1, 100_000)

// Event time.
export const AUTO_WATERMARK_INTERVAL = durationOption('pipeline.auto-watermark-interval', 200, 'How often periodic watermark generators emit (0: never).')
export const WINDOW_LOCAL_AGGREGATION = boolOption('pipeline.window.local-aggregation', true, 'Event-time tumbling and sliding windows with reduce or a mergeable aggregate combine elements per key and slice before the keyBy exchange (two-phase aggregation, as Flink SQL\'s local-global aggregation), then merge the partials; false: every element crosses the exchange.')

/** All known options by canonical key, for validation of -D and config files. */
export const ALL_OPTIONS: ReadonlyMap<string, ConfigOption<unknown>> = new Map(
  [
    PARALLELISM_DEFAULT, MAX_PARALLELISM, OBJECT_REUSE, OPERATOR_CHAINING, BUFFER_TIMEOUT, NETWORK_BATCH_RECORDS, NETWORK_CREDITS, NETWORK_LOCAL_TRANSPORT, TASK_SLOTS, SLOT_THREADS, SPARE_SLOT_THREADS, SLOT_REQUEST_TIMEOUT, REST_PORT, REST_BIND_ADDRESS, REST_SAVEPOINTS_ALLOW_ANY_TARGET,
    JOBMANAGER_RPC_ADDRESS, JOBMANAGER_RPC_PORT, TASKMANAGER_HOST, TASKMANAGER_DATA_PORT, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, HA_STORAGE_DIR,
    CHECKPOINTING_INTERVAL, CHECKPOINTING_MODE, CHECKPOINTING_TIMEOUT, CHECKPOINTING_MIN_PAUSE, CHECKPOINTING_MAX_CONCURRENT, CHECKPOINTING_TOLERABLE_FAILURES,
    CHECKPOINTING_RETENTION, CHECKPOINTING_UNALIGNED, CHECKPOINTING_ALIGNED_TIMEOUT, CHECKPOINTS_DIR, CHECKPOINTS_NUM_RETAINED, CHECKPOINT_STORAGE, SAVEPOINTS_DIR, ALLOW_DUPLICATE_OUTPUT,
    S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_PATH_STYLE_ACCESS, S3_REGION,
    STATE_BACKEND, STATE_BACKEND_INCREMENTAL, LMDB_LOCAL_DIR, LMDB_CACHE_SIZE,
    RESTART_STRATEGY, FIXED_DELAY_ATTEMPTS, FIXED_DELAY_DELAY, FAILURE_RATE_MAX_FAILURES, FAILURE_RATE_INTERVAL, FAILURE_RATE_DELAY,
    EXP_INITIAL_BACKOFF, EXP_MAX_BACKOFF, EXP_MULTIPLIER, EXP_RESET_THRESHOLD, EXP_JITTER, EXP_ATTEMPTS,
    WEB_CHECKPOINTS_HISTORY, AUTO_WATERMARK_INTERVAL, WINDOW_LOCAL_AGGREGATION,
  ].map((o) => [o.key, o as ConfigOption<unknown>]),
)

/** Every key a user may write, canonical or fallback, to the option it sets. */
export const OPTIONS_BY_ANY_KEY: ReadonlyMap<string, ConfigOption<unknown>> = new Map(
  [...ALL_OPTIONS.values()].flatMap((o) => [o.key, ...o.fallbackKeys].map((k) => [k, o] as const)),
)
