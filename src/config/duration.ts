// Parses durations in Flink's forms: "300" (milliseconds), "300ms", "300 ms", "1s", "10 min", "2 h", "1 d".

import { UserError } from '../errors.ts'

const UNIT_MS: Record<string, number> = {}
function units(ms: number, ...names: string[]): void {
  for (const name of names) UNIT_MS[name] = ms
}
units(1e-6, 'ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds')
units(1e-3, 'us', 'µs', 'micro', 'micros', 'microsecond', 'microseconds')
units(1, 'ms', 'milli', 'millis', 'millisecond', 'milliseconds')
units(1000, 's', 'sec', 'secs', 'second', 'seconds')
units(60_000, 'm', 'min', 'mins', 'minute', 'minutes')
units(3_600_000, 'h', 'hour', 'hours')
units(86_400_000, 'd', 'day', 'days')

/** Milliseconds for a duration string; `what` names the setting in the error message. */
export function parseDuration(text: string, what = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zµ]*)\s*$/i.exec(text)
  if (!match) {
    throw new UserError('WEIR_INVALID_CONFIG', `${what}: '${text}' is not a duration; use a number of milliseconds or a number with a unit, e.g. 300ms, 1s, 10 min`)
  }
  const unit = match[2]!.toLowerCase()
  const factor = unit === '' ? 1 : UNIT_MS[unit]
  if (factor === undefined) {
    throw new UserError('WEIR_INVALID_CONFIG', `${what}: unknown time unit '${match[2]}' in '${text}'; use ms, s, min, h or d`)
  }
  return Number(match[1]) * factor
}
