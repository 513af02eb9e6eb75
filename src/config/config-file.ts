// Reads a YAML configuration file (weir.yaml, or --config FILE). Keys may be flat
// (`execution.checkpointing.interval: 10s`) or nested maps, which are joined with dots, as in
// Flink's config.yaml.

import { readFileSync, existsSync } from 'node:fs'
import type * as Yaml from 'yaml'
import { lazyPackage } from '../io/lazy-package.ts'
import { UserError } from '../errors.ts'
import type { RawConfig } from './configuration.ts'

export const DEFAULT_CONFIG_FILE = 'weir.yaml'

/** The YAML parser (72 modules), loaded when a configuration file is read, not at every command's start. */
const yaml = lazyPackage<typeof Yaml>('yaml')

export function readConfigFile(path: string): RawConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new UserError('WEIR_INVALID_CONFIG', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  let doc: unknown
  try {
    doc = yaml().parse(text)
  } catch (e) {
    throw new UserError('WEIR_INVALID_CONFIG', `${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`)
  }
  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UserError('WEIR_INVALID_CONFIG', `${path} must hold a map of configuration keys`)
  const out: RawConfig = {}
  flatten(doc as Record<string, unknown>, '', out, path)
  return out
}

/** weir.yaml in the working directory, if there is one. */
export function readDefaultConfigFile(cwd = process.cwd()): RawConfig {
  const path = `${cwd}/${DEFAULT_CONFIG_FILE}`
  return existsSync(path) ? readConfigFile(path) : {}
}

function flatten(obj: Record<string, unknown>, prefix: string, out: RawConfig, path: string): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix + k
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${key}.`, out, path)
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v
    else throw new UserError('WEIR_INVALID_CONFIG', `${path}: the value of ${key} must be a string, number or boolean`)
  }
}
