// `weir checkpoints [dir]`: lists the retained checkpoints under a checkpoints directory, with
// their size on disk, duration and status, so a user can pick one to resume from.

import { listCheckpoints } from '../checkpoint/metadata.ts'
import { resolveConfig } from './run.ts'
import { Configuration } from '../config/configuration.ts'
import { CHECKPOINTS_DIR } from '../config/options.ts'
import { UserError } from '../errors.ts'

export async function checkpointsCommand(dir: string | undefined, options: { define?: string[]; config?: string }): Promise<number> {
  const base = dir ?? new Configuration(resolveConfig(options)).get(CHECKPOINTS_DIR)
  if (!base) throw new UserError('WEIR_INVALID_ARGUMENT', 'give a checkpoints directory, or set execution.checkpointing.dir (weir.yaml or -D)')
  const all = await listCheckpoints(base)
  if (all.length === 0) {
    process.stdout.write(`no checkpoints under ${base}\n`)
    return 0
  }
  const rows = all.map((c) => [
    c.jobId, String(c.id), c.completedAt ? new Date(c.completedAt).toISOString() : '-', formatBytes(c.size), c.durationMs === null ? '-' : `${c.durationMs} ms`, c.status, c.dir,
  ])
  const header = ['JOB', 'ID', 'COMPLETED', 'SIZE', 'DURATION', 'STATUS', 'PATH']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`)
  for (const c of all) if (c.problem) process.stdout.write(`  ${c.dir}: ${c.problem}\n`)
  return 0
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`
  return `${n} B`
}
