// Every configuration key Weir understands, with Flink's name, its type, its default and a
// description. This is the one place where defaults are declared.

import { parseDuration } from './duration.ts'
import { UserError } from '../errors.ts'
import { availableParallelism } from 'node:os'

export interface ConfigOption<T> {
  readonly key: string
  readonly description: string
  /** The default; a function when it depends on the machine. */
  readonly defaultValue: T | (() => T)
  /** Parses the textual form (from -D or a config file); throws UserError naming the key. */
  parse(raw: unknown): T
}

function fail(key: string, raw: unknown, expected: string): never {
  throw new UserError('WEIR_INVALID_CONFIG', `invalid value for ${key}: '${String(raw)}' (expected ${expected})`)
}

export function intOption(key: string, defaultValue: number | (() => number), description: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): ConfigOption<number> {
  return {
    key, defaultValue, description,
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
    key, defaultValue, description,
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
    key, defaultValue, description,
    parse(raw) {
      if (typeof raw === 'number' && raw >= 0) return raw
      if (typeof raw !== 'string') return fail(key, raw, 'a duration such as 500ms, 1s or 10 min')
      return parseDuration(raw, key)
    },
  }
}

export function enumOption<const T extends string>(key: string, values: readonly T[], defaultValue: T | null, description: string): ConfigOption<T | null> {
  return {
    key, defaultValue, description,
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
    key, defaultValue, description,
    parse(raw) {
      if (typeof raw !== 'string' && typeof raw !== 'number') fail(key, raw, 'a string')
      return String(raw)
    },
  }
}

export const PARALLELISM_DEFAULT = intOption('parallelism.default', () => availableParallelism(), 'Parallelism of operators that set none (default: the number of cores).', 1, 32768)
export const MAX_PARALLELISM = intOption('pipeline.max-parallelism', -1, 'Upper bound for rescaling keyed state: the number of key groups. -1 derives it from the parallelism (at least 128).', -1, 32768)
export const OBJECT_REUSE = boolOption('pipeline.object-reuse', false, 'Whether records passed between chained operators may be reused (Weir never copies them; kept for Flink compatibility).')
export const OPERATOR_CHAINING = boolOption('pipeline.operator-chaining.enabled', true, 'Chain operators that need no redistribution into one task.')
export const BUFFER_TIMEOUT = durationOption('execution.buffer-timeout.interval', 100, 'The longest a partly filled network buffer waits before it is sent.')
export const NETWORK_BATCH_RECORDS = intOption('taskmanager.network.batch-records', 1024, 'Records per network buffer (batch) between tasks.', 1, 1 << 20)
export const NETWORK_CREDITS = intOption('taskmanager.network.credits-per-channel', 4, 'Buffers a receiver grants each input channel: the back-pressure window.', 1, 1024)
export const TASK_SLOTS = intOption('taskmanager.numberOfTaskSlots', -1, 'Slots (worker threads) of the embedded TaskManager. -1: as many as the highest operator parallelism.', -1, 1024)
export const REST_PORT = intOption('rest.port', 8081, 'Port of the REST API.', 0, 65535)

/** All known options by key, for validation of -D and config files. */
export const ALL_OPTIONS: ReadonlyMap<string, ConfigOption<unknown>> = new Map(
  [PARALLELISM_DEFAULT, MAX_PARALLELISM, OBJECT_REUSE, OPERATOR_CHAINING, BUFFER_TIMEOUT, NETWORK_BATCH_RECORDS, NETWORK_CREDITS, TASK_SLOTS, REST_PORT].map((o) => [o.key, o as ConfigOption<unknown>]),
)
