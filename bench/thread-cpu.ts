// CPU seconds per thread of this process, from /proc/self/task (Linux), for benchmarks that run
// a job's slots in worker threads: the process's total CPU does not say whether one slot thread
// or both did the work, nor how much the main thread (JobManager, start-up) took. A worker
// thread's entry disappears when it exits, so a watcher samples every few ms and keeps each
// thread's last value (a thread's last few ms before its exit can be missed; the process total
// from resourceUsage still has them).

import { readdirSync, readFileSync } from 'node:fs'

export interface ThreadCpu {
  readonly tid: number
  readonly name: string
  readonly cpuSeconds: number
}

const TICKS_PER_SECOND = 100 // USER_HZ on Linux

/** Every thread's CPU seconds now (user + system); [] where /proc is missing. */
export function readThreadCpu(): ThreadCpu[] {
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return []
  }
  const out: ThreadCpu[] = []
  for (const t of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const fields = stat.slice(close + 2).split(' ')
      // After the name: state(0) ... utime(11) stime(12), in clock ticks.
      const ticks = Number(fields[11]) + Number(fields[12])
      out.push({ tid: Number(t), name: stat.slice(stat.indexOf('(') + 1, close), cpuSeconds: ticks / TICKS_PER_SECOND })
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return out
}

/** Samples every thread every `intervalMs` until stop(), which returns each thread's last value, busiest first. */
export function watchThreadCpu(intervalMs = 20): { stop(): ThreadCpu[] } {
  const last = new Map<number, ThreadCpu>()
  const sample = (): void => {
    for (const t of readThreadCpu()) last.set(t.tid, t)
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      sample()
      return [...last.values()].sort((a, b) => b.cpuSeconds - a.cpuSeconds)
    },
  }
}
