// Time-series charts with uPlot (canvas; stays fast with thousands of points).

import uPlot from 'uplot'
import { useEffect, useRef } from 'preact/hooks'

export interface Series {
  readonly label: string
  readonly stroke: string
  readonly values: Array<number | null>
  /** How the axis shows the values. */
  readonly format?: (v: number) => string
}

/** A line chart of `series` over `times` (seconds since the epoch). */
export function LineChart({ title, times, series, height = 220 }: { title: string; times: number[]; series: Series[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const shape = series.map((s) => s.label).join('|')
  useEffect(() => {
    if (!box.current) return
    const width = Math.max(320, box.current.clientWidth - 8)
    const fmt = series[0]?.format
    const opts: uPlot.Options = {
      title, width, height,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: false }, value: (_u: uPlot, v: number | null) => (v === null ? '-' : fmt ? fmt(v) : String(v)) }))],
      axes: [{}, { size: 70, values: (_u: uPlot, vals: number[]) => vals.map((v) => (fmt ? fmt(v) : String(v))) }],
      scales: { x: { time: true } },
    }
    plot.current = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, box.current)
    return () => {
      plot.current?.destroy()
      plot.current = null
    }
  }, [shape, title, height])
  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData)
  })
  return <div class="card chart" ref={box} data-points={times.length} />
}
