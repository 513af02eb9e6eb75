// A job's configuration: raw key/value pairs (from -D, a config file, or the job itself),
// validated against the known options as they are set, read back typed.

import { ALL_OPTIONS, type ConfigOption } from './options.ts'
import { UserError } from '../errors.ts'

export type RawConfig = Record<string, string | number | boolean>

export class Configuration {
  private readonly values = new Map<string, unknown>()
  private readonly raw: RawConfig = {}

  constructor(initial: RawConfig = {}) {
    for (const [key, value] of Object.entries(initial)) this.setRaw(key, value)
  }

  /** Sets a key from its textual form; unknown keys and invalid values fail naming the key. */
  setRaw(key: string, value: string | number | boolean): this {
    const option = ALL_OPTIONS.get(key)
    if (!option) {
      throw new UserError('WEIR_INVALID_CONFIG', `unknown configuration key '${key}'${suggest(key)}`)
    }
    this.values.set(key, option.parse(value))
    this.raw[key] = value
    return this
  }

  set<T>(option: ConfigOption<T>, value: T): this {
    this.values.set(option.key, value)
    this.raw[option.key] = value as string | number | boolean
    return this
  }

  get<T>(option: ConfigOption<T>): T {
    if (this.values.has(option.key)) return this.values.get(option.key) as T
    const d = option.defaultValue
    return typeof d === 'function' ? (d as () => T)() : d
  }

  has(option: ConfigOption<unknown>): boolean {
    return this.values.has(option.key)
  }

  /** The raw pairs, to ship the configuration to workers and processes. */
  toRaw(): RawConfig {
    return { ...this.raw }
  }
}

function suggest(key: string): string {
  const parts = key.split('.')
  const near = [...ALL_OPTIONS.keys()].filter((k) => k.split('.').at(-1) === parts.at(-1) || k.startsWith(parts.slice(0, -1).join('.') + '.'))
  return near.length > 0 ? `; did you mean ${near.slice(0, 3).join(', ')}?` : ''
}

/** Parses a `key=value` pair as given to -D. */
export function parseDynamicProperty(text: string): [string, string] {
  const eq = text.indexOf('=')
  const key = eq < 0 ? '' : text.slice(0, eq).trim()
  if (key === '') {
    throw new UserError('WEIR_INVALID_CONFIG', `-D expects key=value, got '${text}'`)
  }
  return [key, text.slice(eq + 1).trim()]
}
