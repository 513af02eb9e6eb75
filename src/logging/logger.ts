// Structured logs with pino. Two formats: JSON lines (one object per line: time, level, msg and
// fields such as jobId, attempt, subtask), and a human one for terminals: the message as Weir
// always printed it (warnings start with "Warning:"), and for debug and trace lines the level
// before and the fields after. The rule: --log-format wins; without it, human when stderr is a
// terminal and JSON lines otherwise (a file or a pipe is usually read by a program). Levels are
// pino's: trace, debug, info (default), warn, error, fatal, silent.

import { pino, type Logger, type LevelWithSilent } from 'pino'
import { UserError } from '../errors.ts'

export type LogFormat = 'json' | 'human'
export type { Logger }

export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

export interface LoggerOptions {
  /** Default: human on a terminal, json otherwise. */
  readonly format?: string
  readonly level?: string
  /** Whether the stream is a terminal (decides the default format). */
  readonly isTerminal: boolean
  /** Where formatted lines go (each ends with a newline). */
  readonly write: (text: string) => void
}

export function resolveLogFormat(format: string | undefined, isTerminal: boolean): LogFormat {
  if (format === undefined) return isTerminal ? 'human' : 'json'
  if (format === 'json' || format === 'human') return format
  throw new UserError('WEIR_INVALID_ARGUMENT', `--log-format expects json or human, got '${format}'`)
}

export function resolveLogLevel(level: string | undefined): LevelWithSilent {
  if (level === undefined) return 'info'
  const l = level.toLowerCase()
  if ((LOG_LEVELS as readonly string[]).includes(l)) return l as LevelWithSilent
  throw new UserError('WEIR_INVALID_ARGUMENT', `--log-level expects one of ${LOG_LEVELS.join(', ')}, got '${level}'`)
}

const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const OWN = new Set(['level', 'time', 'msg', 'pid', 'hostname'])

/** One JSON log line as a person reads it: the message; debug and trace lines as `[debug] message  key=value ...`. */
export function formatHuman(line: string): string {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  const msg = String(o['msg'] ?? '')
  const level = o['level'] as number
  if (level >= 30) return `${msg}\n`
  const fields = Object.entries(o)
    .filter(([k]) => !OWN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
  return `[${(LABELS[level] ?? String(level)).toLowerCase()}] ${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`
}

export function createLogger(options: LoggerOptions): Logger {
  const format = resolveLogFormat(options.format, options.isTerminal)
  const level = resolveLogLevel(options.level)
  const destination = format === 'json'
    ? { write: (line: string) => options.write(line) }
    : { write: (line: string) => options.write(formatHuman(line)) }
  // No pid / hostname on every line: one process, and the JobManager's id says which.
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.epochTime }, destination)
}
