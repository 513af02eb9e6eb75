// Options of the NATS JetStream source and sink, with defaults and validation.

import { UserError } from '../../errors.ts'

export interface NatsMessageInfo {
  readonly subject: string
  /** The stream sequence of the message. */
  readonly seq: number
  /** When the stream stored it (ms since the epoch); also the record's timestamp for event time. */
  readonly timestamp: number
}

export interface JetStreamSourceOptions<T> {
  /** nats://host:port (several, comma-separated). */
  readonly servers: string
  readonly stream: string
  /** One split per subject filter (default: one split over the whole stream). */
  readonly subjects?: readonly string[]
  /** How a message becomes a record (default: its payload as UTF-8 text). */
  readonly deserialize?: (data: Uint8Array, info: NatsMessageInfo) => T
  /** The stream sequence to start at on a fresh start (default 1: from the start of the stream). */
  readonly startSequence?: number
  /** Read up to the last message the stream held when the job started, then end (default false: continuous). */
  readonly bounded?: boolean
  /** Messages fetched per request (default 10_000); at most twice that is buffered per split. */
  readonly fetchMessages?: number
}

export interface JetStreamSinkOptions<T> {
  readonly servers: string
  /** The subject each record is published to (a string, or one per record). */
  readonly subject: string | ((record: T) => string)
  /** How a record becomes a payload (default: strings as UTF-8, anything else as JSON). */
  readonly serialize?: (record: T) => Uint8Array | string
  /** Publishes awaiting their acknowledgement before the sink holds input back (default 2048). */
  readonly maxInFlight?: number
}

export function checkServers(where: string, servers: unknown): string[] {
  if (typeof servers !== 'string' || servers.split(',').some((s) => !/^(nats|tls):\/\/[^\s/]+$/.test(s.trim()))) {
    throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: servers must be nats://host:port (comma-separated for several), got ${JSON.stringify(servers)}`)
  }
  return servers.split(',').map((s) => s.trim())
}

export function checkName(where: string, what: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[^\s.*>]+$/.test(value)) throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: ${what} must be a name without spaces, '.', '*' or '>', got ${JSON.stringify(value)}`)
  return value
}

export function checkPositive(where: string, what: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v <= 0) throw new UserError('WEIR_INVALID_ARGUMENT', `${where}: ${what} must be a positive integer, got ${JSON.stringify(value)}`)
  return v
}
