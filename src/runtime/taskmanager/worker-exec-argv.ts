// The Node options a slot thread starts with. A worker thread inherits the process's execArgv,
// but Node refuses to start one whose execArgv holds a V8 flag (--max-old-space-size,
// --single-threaded-gc, --expose-gc, ...) or an option that acts on the whole process (--title,
// --v8-pool-size, ...): the job then failed to start with "invalid execArgv flags". Those options
// need not reach the thread: V8's flags are global to the process, so they already apply to
// every isolate in it, and the process-wide ones act once for all threads. They are dropped;
// everything else (--enable-source-maps, --cpu-prof, --inspect, --conditions, ...) is kept. So is
// a TypeScript loader, except tsx: built code needs none (see withoutTypeScriptHooks).

import { execFileSync } from 'node:child_process'

/** Node options that act on the whole process and that Node refuses in a worker's execArgv, and whether each takes a value. */
const PROCESS_WIDE = new Map<string, boolean>([
  ['--title', true], ['--v8-pool-size', true], ['--disable-proto', true], ['--use-largepages', true], ['--secure-heap', true], ['--secure-heap-min', true],
  ['--openssl-config', true], ['--icu-data-dir', true], ['--tls-cipher-list', true], ['--security-revert', true],
  ['--zero-fill-buffers', false], ['--trace-sigint', false], ['--openssl-legacy-provider', false], ['--openssl-shared-config', false],
  ['--use-openssl-ca', false], ['--use-bundled-ca', false], ['--enable-fips', false], ['--force-fips', false],
])

/** V8's flags by name (dashes, no `no-` prefix), and whether each is a boolean: `node --v8-options`, read once. */
let v8Flags: Map<string, boolean> | null = null

function readV8Flags(): Map<string, boolean> {
  const flags = new Map<string, boolean>()
  let text = ''
  try {
    text = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    // Without the list no option is taken for V8's: the thread gets them all, as before.
    return flags
  }
  // "  --max-old-space-size (max size of the old space (in Mbytes))" then "        type: size_t  default: ..."
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {2}--([a-z0-9-_]+) \(/.exec(lines[i]!)
    if (m === null) continue
    const type = /type: (\S+)/.exec(lines[i + 1] ?? '')
    flags.set(m[1]!.replace(/_/g, '-'), type?.[1] === 'bool')
  }
  return flags
}

/** Whether `name` (without its dashes) is a V8 flag: undefined when it is not, else whether it is a boolean one. */
function v8FlagIsBool(name: string): boolean | undefined {
  v8Flags ??= readV8Flags()
  const normalized = name.replace(/_/g, '-')
  const direct = v8Flags.get(normalized)
  if (direct !== undefined) return direct
  // A boolean flag turned off: --no-flag.
  return normalized.startsWith('no-') && v8Flags.get(normalized.slice(3)) === true ? true : undefined
}

/** execArgv without V8's flags and the process-wide options a worker refuses (with their separate values). */
export function withoutProcessWideOptions(execArgv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!
    if (!arg.startsWith('--')) {
      out.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq < 0 ? arg : arg.slice(0, eq)
    const takesNext = eq < 0 && i + 1 < execArgv.length && !execArgv[i + 1]!.startsWith('-')
    const processWide = PROCESS_WIDE.get(name)
    if (processWide !== undefined) {
      if (takesNext && processWide) i++
      continue
    }
    const v8Bool = v8FlagIsBool(name.slice(2))
    if (v8Bool !== undefined) {
      if (takesNext && !v8Bool) i++
      continue
    }
    out.push(arg)
  }
  return out
}

/**
 * A thread inherits the process's execArgv. Built code needs no TypeScript loader: the runtime
 * is JavaScript and a job arrives bundled, so a thread of a process started with `--import tsx`
 * (tests, a development CLI) would only pay for tsx's hooks on every module it loads (measured:
 * 580 ms instead of 350 ms of CPU to start a thread and load the runtime).
 */
export function withoutTypeScriptHooks(execArgv: readonly string[]): string[] {
  const isTsx = (value: string | undefined) => value !== undefined && /^tsx(\/|$)/.test(value)
  const out: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!
    if ((arg === '--import' || arg === '--loader' || arg === '--experimental-loader' || arg === '--require' || arg === '-r') && isTsx(execArgv[i + 1])) {
      i++
      continue
    }
    const m = /^--(?:import|loader|experimental-loader|require)=(.*)$/.exec(arg)
    if (m && isTsx(m[1])) continue
    out.push(arg)
  }
  return out
}

/** The execArgv of a slot thread running built code. */
export function slotThreadExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  return withoutProcessWideOptions(withoutTypeScriptHooks(execArgv))
}
