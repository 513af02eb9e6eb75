// A job's configuration: raw key/value pairs (from -D, a config file, or the job itself),
// validated against the known options as they are set, read back typed. A key may be given by
// its Flink 2 name or its Flink 1.x fallback name; it is stored under the Flink 2 name.

import { ALL_OPTIONS, OPTIONS_BY_ANY_KEY, type ConfigOption } from './options.ts'
import { UserError } from '../errors.ts'

export type RawConfig = Record<string, string | number | boolean>

export class Configuration {
  private readonly values = new Map<string, unknown>()
  private readonly raw: RawConfig = {}

  constructor(initial: RawConfig = {}) {
    // Fallback names first, so that the canonical name wins when one layer gives both, as in Flink.
    const entries = Object.entries(initial)
    const isCanonical = (key: string) => OPTIONS_BY_ANY_KEY.get(key)?.key === key
    for (const [key, value] of entries) if (!isCanonical(key)) this.setRaw(key, value)
    for (const [key, value] of entries) if (isCanonical(key)) this.setRaw(key, value)
  }

  /**
   * Sets a key from its textual form, by either name; a later set overrides an earlier one
   * whichever name either used. Unknown keys and invalid values fail naming the key.
   */
  setRaw(key: string, value: string | number | boolean): this {
    const option = optionFor(key)
    let parsed: unknown
    try {
      parsed = option.parse(value)
    } catch (e) {
      if (key !== option.key && e instanceof UserError) throw new UserError(e.code, `${e.message} (given as ${key})`)
      throw e
    }
    this.values.set(option.key, parsed)
    this.raw[option.key] = value
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

function optionFor(key: string): ConfigOption<unknown> {
  const option = OPTIONS_BY_ANY_KEY.get(key)
  if (!option) throw new UserError('WEIR_INVALID_CONFIG', `unknown configuration key '${key}'${suggest(key)}`)
  return option
}

/** The canonical (Flink 2) name of a key given by either name; unknown keys fail naming the key. */
export function canonicalKey(key: string): string {
  return optionFor(key).key
}

/**
 * One layer of configuration (a file, the -D pairs) with every key under its canonical name.
 * When a layer gives both names of one option, the canonical one wins, as in Flink.
 */
export function normalizeKeys(raw: RawConfig): RawConfig {
  const out: RawConfig = {}
  const fromCanonical = new Set<string>()
  for (const [key, value] of Object.entries(raw)) {
    const canonical = canonicalKey(key)
    if (canonical === key) {
      out[canonical] = value
      fromCanonical.add(canonical)
    } else if (!fromCanonical.has(canonical)) {
      out[canonical] = value
    }
  }
  return out
}

/** The Flink 1.x names a layer uses, each with its Flink 2 name, to tell the user. */
export function fallbackKeysUsed(raw: RawConfig): Array<{ given: string; canonical: string }> {
  return Object.keys(raw).filter((k) => OPTIONS_BY_ANY_KEY.has(k) && canonicalKey(k) !== k).map((given) => ({ given, canonical: canonicalKey(given) }))
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
