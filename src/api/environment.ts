// The StreamEnvironment a job's builder receives: the sources, the job's arguments and its
// configuration. It records transformations; it runs nothing itself.

import { DataStream } from './datastream.ts'
import type { Source } from './source.ts'
import type { Transformation } from '../graph/transformation.ts'
import { Configuration } from '../config/configuration.ts'
import { PARALLELISM_DEFAULT, MAX_PARALLELISM } from '../config/options.ts'
import { CollectionSource } from '../connectors/collection/collection-source.ts'
import { SequenceSource } from '../connectors/collection/sequence-source.ts'
import { TextFileSource } from '../connectors/file/text-file-source.ts'
import { MonitoredDirectorySource } from '../connectors/file/monitored-directory-source.ts'
import { parseDuration } from '../config/duration.ts'
import { SocketTextSource } from '../connectors/socket/socket-source.ts'
import { UserError } from '../errors.ts'
import { WatermarkStrategy } from './watermark.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export class StreamEnvironment {
  /** The job's own arguments: everything after the job file on the command line. */
  readonly args: readonly string[]
  /** `--key value` and `--key=value` pairs of args; a flag without a value is 'true'. */
  readonly params: Readonly<Record<string, string>>
  readonly config: Configuration
  /** @internal */
  readonly transformations: Transformation[] = []

  constructor(args: readonly string[] = [], config: Configuration = new Configuration()) {
    this.args = args
    this.params = parseParams(args)
    this.config = config
  }

  /** Default parallelism of operators that set none. Overrides -p. */
  setParallelism(parallelism: number): this {
    this.config.set(PARALLELISM_DEFAULT, positive('setParallelism', parallelism))
    return this
  }

  /** Turns on periodic checkpoints (execution.checkpointing.interval / .mode). */
  enableCheckpointing(intervalMs: number, mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE' = 'EXACTLY_ONCE'): this {
    this.config.setRaw('execution.checkpointing.interval', positive('enableCheckpointing', intervalMs))
    this.config.setRaw('execution.checkpointing.mode', mode)
    return this
  }

  /** Flink's CheckpointConfig setters, over the same configuration keys. */
  getCheckpointConfig(): CheckpointConfig {
    return new CheckpointConfig(this.config)
  }

  getParallelism(): number {
    return this.config.get(PARALLELISM_DEFAULT)
  }

  /** Number of key groups: the upper bound for rescaling keyed state (default 128). */
  setMaxParallelism(maxParallelism: number): this {
    this.config.set(MAX_PARALLELISM, positive('setMaxParallelism', maxParallelism))
    return this
  }

  fromElements<T>(...elements: T[]): DataStream<T> {
    return this.fromSource(new CollectionSource<T>(elements), 'Collection Source')
  }

  fromCollection<T>(items: Iterable<T>): DataStream<T> {
    return this.fromSource(new CollectionSource<T>([...items]), 'Collection Source')
  }

  /** The numbers from..to (inclusive), split between parallel readers. */
  fromSequence(from: number, to: number): DataStream<number> {
    return this.fromSource(new SequenceSource(from, to), 'Sequence Source')
  }

  /** The lines of a text file, split into byte ranges read in parallel. */
  readTextFile(path: string, options: { monitorInterval?: number | string } = {}): DataStream<string> {
    if (options.monitorInterval !== undefined) {
      // Continuous: a directory watched every interval, each new file read once (Flink's monitorContinuously).
      const ms = typeof options.monitorInterval === 'number' ? options.monitorInterval : parseDuration(options.monitorInterval, 'readTextFile monitorInterval')
      return this.fromSource(new MonitoredDirectorySource(path, ms), `Monitored Directory ${path}`)
    }
    return this.fromSource(new TextFileSource(path), `Text File ${path}`)
  }

  /**
   * Lines from a TCP socket. Parallelism 1; it cannot rewind, so after a failure the lines
   * that arrived in the meantime are lost, as in Flink.
   */
  socketTextStream(host: string, port: number, delimiter = '\n'): DataStream<string> {
    return this.fromSource(new SocketTextSource(host, port, delimiter), `Socket Stream ${host}:${port}`)
  }

  /**
   * A stream from a Source. With a WatermarkStrategy, the reader stamps each record and
   * generates watermarks per split (Flink's split-aware watermarks).
   */
  fromSource<T>(source: Source<T, any, any>, name: string): DataStream<T>
  fromSource<T>(source: Source<T, any, any>, strategy: WatermarkStrategy<T>, name: string): DataStream<T>
  fromSource<T>(source: Source<T, any, any>, strategyOrName: WatermarkStrategy<T> | string, maybeName?: string): DataStream<T> {
    const strategy = typeof strategyOrName === 'string' ? null : strategyOrName
    const name = typeof strategyOrName === 'string' ? strategyOrName : (maybeName ?? 'Source')
    if (strategy !== null && !(strategy instanceof WatermarkStrategy)) {
      throw new UserError('WEIR_INVALID_ARGUMENT', `fromSource('${name}'): the second argument must be a WatermarkStrategy or the source's name`)
    }
    const t = this.addTransformation({ kind: 'source', source: source as Source<unknown, unknown, unknown>, watermarkStrategy: strategy as WatermarkStrategy<unknown> | null, name, uid: null, parallelism: null, maxParallelism: null })
    return new DataStream<T>(this, t)
  }

  /** @internal */
  addTransformation<T extends DistributiveOmit<Transformation, 'id'>>(t: T): Transformation {
    const full = { ...t, id: this.transformations.length } as unknown as Transformation
    this.transformations.push(full)
    return full
  }
}

function positive(method: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new UserError('WEIR_INVALID_ARGUMENT', `${method}: expected a positive integer, got ${n}`)
  return n
}

/** Parses `--key value`, `--key=value` and bare `--flag` into a record. */
export function parseParams(args: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (!arg.startsWith('-') || arg === '-' || arg === '--') continue
    const body = arg.replace(/^--?/, '')
    const eq = body.indexOf('=')
    if (eq >= 0) {
      params[body.slice(0, eq)] = body.slice(eq + 1)
    } else {
      const next = args[i + 1]
      if (next !== undefined && !(next.startsWith('-') && next.length > 1 && !/^-\d/.test(next))) {
        params[body] = next
        i++
      } else {
        params[body] = 'true'
      }
    }
  }
  return params
}

/** Setters for the checkpoint options, named as in Flink's CheckpointConfig; each sets its config key. */
export class CheckpointConfig {
  constructor(private readonly config: Configuration) {}
  setCheckpointInterval(ms: number): this { return this.set('execution.checkpointing.interval', ms) }
  setCheckpointingMode(mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE'): this { return this.set('execution.checkpointing.mode', mode) }
  setCheckpointTimeout(ms: number): this { return this.set('execution.checkpointing.timeout', ms) }
  setMinPauseBetweenCheckpoints(ms: number): this { return this.set('execution.checkpointing.min-pause', ms) }
  setMaxConcurrentCheckpoints(n: number): this { return this.set('execution.checkpointing.max-concurrent-checkpoints', n) }
  setTolerableCheckpointFailureNumber(n: number): this { return this.set('execution.checkpointing.tolerable-failed-checkpoints', n) }
  setExternalizedCheckpointRetention(policy: 'DELETE_ON_CANCELLATION' | 'RETAIN_ON_CANCELLATION' | 'NO_EXTERNALIZED_CHECKPOINTS'): this {
    return this.set('execution.checkpointing.externalized-checkpoint-retention', policy)
  }
  enableUnalignedCheckpoints(enabled = true): this { return this.set('execution.checkpointing.unaligned.enabled', enabled) }
  setAlignedCheckpointTimeout(ms: number): this { return this.set('execution.checkpointing.aligned-checkpoint-timeout', ms) }
  /** A directory means filesystem checkpoint storage there. */
  setCheckpointStorage(dir: string): this { return this.set('execution.checkpointing.dir', dir) }
  private set(key: string, value: string | number | boolean): this {
    this.config.setRaw(key, value)
    return this
  }
}
