// Talking to the REST API of the server that served the page, and formatting its numbers.

import { useEffect, useState } from 'preact/hooks'

export async function getJson<T = any>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { accept: 'application/json' } })
  const body = await r.json()
  if (!r.ok) throw new Error((body?.errors ?? [`HTTP ${r.status}`]).join('; '))
  return body as T
}

/** Polls `path` every `intervalMs` while the component is shown; null until the first answer. */
export function usePoll<T = any>(path: string | null, intervalMs = 2000): { data: T | null; error: string | null } {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null })
  useEffect(() => {
    if (path === null) return
    let live = true
    let timer: ReturnType<typeof setTimeout> | null = null
    const tick = async () => {
      try {
        const data = await getJson<T>(path)
        if (live) setState({ data, error: null })
      } catch (e) {
        if (live) setState((s) => ({ data: s.data, error: (e as Error).message }))
      }
      if (live) timer = setTimeout(tick, intervalMs)
    }
    void tick()
    return () => {
      live = false
      if (timer) clearTimeout(timer)
    }
  }, [path, intervalMs])
  return state
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || n < 0) return '-'
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MB`
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(2)} KB`
  return `${n} B`
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms < 0) return '-'
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)}h ${Math.floor((ms % 3_600_000) / 60_000)}m`
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)}m ${Math.floor((ms % 60_000) / 1000)}s`
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`
  return `${Math.round(ms)}ms`
}

export function fmtTime(ts: number | null | undefined): string {
  if (ts === null || ts === undefined || ts <= 0) return '-'
  const d = new Date(ts)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

export function fmtCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-'
  return Math.round(n).toLocaleString('en-US')
}

export function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M/s`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k/s`
  return `${Math.round(n)}/s`
}
