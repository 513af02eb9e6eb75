// One job: its graph (vertices, edges with partitioning, parallelism, records per second,
// back-pressure colour), checkpoints, exceptions, live charts and configuration.

import { useEffect, useRef, useState } from 'preact/hooks'
import { fmtBytes, fmtCount, fmtMs, fmtRate, fmtTime, getJson, usePoll } from './api.ts'
import { Checkpoints } from './checkpoints.tsx'
import { LineChart } from './charts.tsx'

const TABS = ['overview', 'checkpoints', 'exceptions', 'charts', 'configuration'] as const

/** Rolling samples of a job's throughput and checkpoints, kept while the page is open. */
interface Samples {
  times: number[]
  recordsIn: number[]
  recordsOut: number[]
  /** Per vertex: write-records per second, read-records per second. */
  vertexRates: Map<number, { in: number; out: number }>
  last: { at: number; vertices: Map<number, { read: number; write: number }> } | null
  checkpoints: Map<number, { at: number; duration: number; size: number; checkpointed: number }>
}

const store = new Map<string, Samples>()
const MAX_POINTS = 900

function samplesFor(jobId: string): Samples {
  let s = store.get(jobId)
  if (!s) store.set(jobId, (s = { times: [], recordsIn: [], recordsOut: [], vertexRates: new Map(), last: null, checkpoints: new Map() }))
  return s
}

function record(s: Samples, job: any): void {
  const at = job.now ?? Date.now()
  const vertices = new Map<number, { read: number; write: number }>(job.vertices.map((v: any) => [v.id, { read: v.metrics['read-records'], write: v.metrics['write-records'] }]))
  if (s.last && at > s.last.at) {
    const dt = (at - s.last.at) / 1000
    const sources = new Set(job.plan.nodes.filter((n: any) => !n.inputs).map((n: any) => n.id))
    const sinks = new Set(job.vertices.map((v: any) => v.id).filter((id: number) => !job.plan.nodes.some((n: any) => (n.inputs ?? []).some((i: any) => i.id === id))))
    let inRate = 0
    let outRate = 0
    for (const [id, v] of vertices) {
      const prev = s.last.vertices.get(id)
      if (!prev) continue
      const rate = { in: Math.max(0, (v.read - prev.read) / dt), out: Math.max(0, (v.write - prev.write) / dt) }
      s.vertexRates.set(id, rate)
      if (sources.has(id)) inRate += rate.out
      if (sinks.has(id)) outRate += rate.in
    }
    s.times.push(at / 1000)
    s.recordsIn.push(inRate)
    s.recordsOut.push(outRate)
    if (s.times.length > MAX_POINTS) {
      s.times.shift()
      s.recordsIn.shift()
      s.recordsOut.shift()
    }
  }
  s.last = { at, vertices }
}

export function JobPage({ jobId, tab, rest }: { jobId: string; tab: string; rest: string[] }) {
  const { data: job, error } = usePoll<any>(`/jobs/${jobId}`, 1000)
  const samples = samplesFor(jobId)
  const lastSeen = useRef<number>(0)
  if (job && job.now !== lastSeen.current) {
    lastSeen.current = job.now
    record(samples, job)
  }
  if (error && !job) return <p class="error">{error}</p>
  if (!job) return <p class="muted">Loading…</p>
  return (
    <div>
      <h1>{job.name} <span class={`state ${job.state}`}>{job.state}</span></h1>
      <p class="muted">
        {job.jid} · started {fmtTime(job['start-time'])} · running {fmtMs(job.duration)} · {job.restarts} restart(s)
        {job.state === 'RUNNING' ? <> · <button id="cancel-job" onClick={() => void fetch(`/jobs/${jobId}?mode=cancel`, { method: 'PATCH' })}>Cancel job</button></> : null}
      </p>
      <div class="tabs">
        {TABS.map((t) => <a key={t} href={`#/jobs/${jobId}/${t}`} class={tab === t ? 'active' : ''}>{t[0]!.toUpperCase() + t.slice(1)}</a>)}
      </div>
      {tab === 'overview' ? <Overview job={job} samples={samples} /> : null}
      {tab === 'checkpoints' ? <Checkpoints jobId={jobId} job={job} selected={rest[0] ? Number(rest[0]) : null} samples={samples} /> : null}
      {tab === 'exceptions' ? <Exceptions jobId={jobId} /> : null}
      {tab === 'charts' ? <Charts jobId={jobId} samples={samples} /> : null}
      {tab === 'configuration' ? <Configuration jobId={jobId} /> : null}
    </div>
  )
}

/** Back-pressure level per vertex, polled. */
function useBackPressure(jobId: string, vertexIds: number[]): Map<number, any> {
  const [levels, setLevels] = useState(new Map<number, any>())
  const key = vertexIds.join(',')
  useEffect(() => {
    let live = true
    let timer: ReturnType<typeof setTimeout>
    const tick = async () => {
      const next = new Map<number, any>()
      for (const id of vertexIds) {
        try {
          next.set(id, await getJson(`/jobs/${jobId}/vertices/${id}/backpressure`))
        } catch {
          // the job may just have ended
        }
      }
      if (live) {
        setLevels(next)
        timer = setTimeout(tick, 2000)
      }
    }
    void tick()
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [jobId, key])
  return levels
}

function Overview({ job, samples }: { job: any; samples: Samples }) {
  const nodes: any[] = job.plan.nodes
  const bp = useBackPressure(job.jid, job.vertices.map((v: any) => v.id))
  const [open, setOpen] = useState<number | null>(null)
  // Columns by depth: a vertex sits one column after its deepest input.
  const depth = new Map<number, number>()
  const depthOf = (id: number): number => {
    if (depth.has(id)) return depth.get(id)!
    const n = nodes.find((x) => x.id === id)
    const d = n?.inputs ? Math.max(...n.inputs.map((i: any) => depthOf(i.id))) + 1 : 0
    depth.set(id, d)
    return d
  }
  for (const n of nodes) depthOf(n.id)
  const columns: any[][] = []
  for (const v of job.vertices) (columns[depth.get(v.id)!] ??= []).push(v)
  return (
    <div>
      <div class="card graph" id="job-graph">
        {columns.map((col, i) => (
          <>
            {i > 0 ? (
              <div class="edge">
                {col.flatMap((v: any) => (nodes.find((n) => n.id === v.id)?.inputs ?? []).map((e: any) => <div key={`${e.id}-${v.id}`}>{e.ship_strategy}<span class="arrow">→</span></div>))}
              </div>
            ) : null}
            <div class="column">
              {col.map((v: any) => {
                const level = bp.get(v.id)?.backpressureLevel ?? 'ok'
                const busy = Math.max(0, ...(bp.get(v.id)?.subtasks ?? []).map((s: any) => s.busyRatio))
                const rate = samples.vertexRates.get(v.id)
                return (
                  <div class={`vertex ${level}`} key={v.id} data-vertex={v.id} onClick={() => setOpen(open === v.id ? null : v.id)}>
                    <div class="name">{v.name}</div>
                    <div class="meta">Parallelism {v.parallelism} · <span class={`state ${v.status}`}>{v.status}</span></div>
                    <div class="meta">in {fmtRate(rate?.in ?? 0)} · out {fmtRate(rate?.out ?? 0)}</div>
                    <div class="meta">back-pressure {level} · busy {Math.round(busy * 100)}%</div>
                  </div>
                )
              })}
            </div>
          </>
        ))}
      </div>
      <table id="vertices">
        <thead><tr><th>Name</th><th>Status</th><th class="num">Parallelism</th><th class="num">Records received</th><th class="num">Records sent</th><th class="num">Bytes received</th><th class="num">Bytes sent</th><th>Back-pressure</th><th class="num">Busy</th><th class="num">Duration</th></tr></thead>
        <tbody>
          {job.vertices.map((v: any) => {
            const b = bp.get(v.id)
            return (
              <tr key={v.id} class="clickable" onClick={() => setOpen(open === v.id ? null : v.id)}>
                <td>{v.name}</td><td><span class={`state ${v.status}`}>{v.status}</span></td><td class="num">{v.parallelism}</td>
                <td class="num">{fmtCount(v.metrics['read-records'])}</td><td class="num">{fmtCount(v.metrics['write-records'])}</td>
                <td class="num">{fmtBytes(v.metrics['read-bytes'])}</td><td class="num">{fmtBytes(v.metrics['write-bytes'])}</td>
                <td>{b?.backpressureLevel ?? '-'}</td>
                <td class="num">{b ? `${Math.round(Math.max(0, ...b.subtasks.map((s: any) => s.busyRatio)) * 100)}%` : '-'}</td>
                <td class="num">{fmtMs(v.duration)}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
      {open !== null ? <Subtasks jobId={job.jid} vertexId={open} bp={bp.get(open)} /> : null}
    </div>
  )
}

function Subtasks({ jobId, vertexId, bp }: { jobId: string; vertexId: number; bp: any }) {
  const { data } = usePoll<any>(`/jobs/${jobId}/vertices/${vertexId}`, 2000)
  if (!data) return null
  return (
    <div class="card">
      <h2>{data.name}: subtasks</h2>
      <table>
        <thead><tr><th class="num">Subtask</th><th>Status</th><th class="num">Records received</th><th class="num">Records sent</th><th class="num">Busy</th><th class="num">Back-pressured</th><th class="num">Idle</th><th>TaskManager</th></tr></thead>
        <tbody>
          {data.subtasks.map((s: any) => {
            const b = bp?.subtasks?.[s.subtask]
            return (
              <tr key={s.subtask}>
                <td class="num">{s.subtask + 1}</td><td><span class={`state ${s.status}`}>{s.status}</span></td>
                <td class="num">{fmtCount(s.metrics['read-records'])}</td><td class="num">{fmtCount(s.metrics['write-records'])}</td>
                <td class="num">{b ? `${Math.round(b.busyRatio * 100)}%` : '-'}</td><td class="num">{b ? `${Math.round(b.ratio * 100)}%` : '-'}</td><td class="num">{b ? `${Math.round(b.idleRatio * 100)}%` : '-'}</td>
                <td class="muted">{s['taskmanager-id']}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

function Exceptions({ jobId }: { jobId: string }) {
  const { data } = usePoll<any>(`/jobs/${jobId}/exceptions`, 3000)
  if (!data) return <p class="muted">Loading…</p>
  const entries = data.exceptionHistory.entries
  return (
    <div id="exceptions">
      <h2>Root exception</h2>
      {data['root-exception'] ? <pre>{data['root-exception']}</pre> : <p class="muted">No exception: the job has not failed.</p>}
      <h2>Exception history</h2>
      {entries.length === 0 ? <p class="muted">None.</p> : (
        <table>
          <thead><tr><th>Time</th><th>Exception</th><th>Task</th><th>Location</th></tr></thead>
          <tbody>
            {entries.map((e: any, i: number) => (
              <tr key={i}><td>{fmtTime(e.timestamp)}</td><td title={e.stacktrace}>{e.exceptionName}: {e.message}</td><td>{e.taskName ?? '-'}</td><td class="muted">{e.location ?? '-'}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}

function Charts({ jobId, samples }: { jobId: string; samples: Samples }) {
  const cps = [...samples.checkpoints.entries()].sort((a, b) => a[0] - b[0])
  return (
    <div class="charts" id="charts">
      <LineChart title="Throughput (records per second)" times={samples.times} series={[
        { label: 'from sources', stroke: '#2f6fde', values: samples.recordsIn, format: (v) => fmtRate(v) },
        { label: 'into sinks', stroke: '#2e9e5b', values: samples.recordsOut, format: (v) => fmtRate(v) },
      ]} />
      <LineChart title="Checkpoint duration (end to end)" times={cps.map(([, c]) => c.at / 1000)} series={[
        { label: 'duration', stroke: '#d64545', values: cps.map(([, c]) => c.duration), format: (v) => fmtMs(v) },
      ]} />
      <LineChart title="Checkpoint size" times={cps.map(([, c]) => c.at / 1000)} series={[
        { label: 'full size', stroke: '#9b6bd6', values: cps.map(([, c]) => c.size), format: (v) => fmtBytes(v) },
        { label: 'checkpointed', stroke: '#e8a33d', values: cps.map(([, c]) => c.checkpointed), format: (v) => fmtBytes(v) },
      ]} />
      <CheckpointSampler jobId={jobId} samples={samples} />
    </div>
  )
}

/** Keeps every completed checkpoint seen while the page is open, for the charts (the API keeps only the newest). */
export function CheckpointSampler({ jobId, samples }: { jobId: string; samples: Samples }) {
  const { data } = usePoll<any>(`/jobs/${jobId}/checkpoints`, 1000)
  if (data) for (const c of data.history) {
    if (c.status === 'COMPLETED') samples.checkpoints.set(c.id, { at: c.latest_ack_timestamp, duration: c.end_to_end_duration, size: c.state_size, checkpointed: c.checkpointed_size })
  }
  return null
}

function Configuration({ jobId }: { jobId: string }) {
  const { data } = usePoll<any>(`/jobs/${jobId}/config`, 10_000)
  if (!data) return <p class="muted">Loading…</p>
  const ec = data['execution-config']
  return (
    <table>
      <tbody>
        <tr><th>Execution mode</th><td>{ec['execution-mode']}</td></tr>
        <tr><th>Restart strategy</th><td>{ec['restart-strategy']}</td></tr>
        <tr><th>Job parallelism</th><td>{ec['job-parallelism']}</td></tr>
        {Object.entries(ec['user-config']).map(([k, v]) => <tr key={k}><th>{k}</th><td>{String(v)}</td></tr>)}
      </tbody>
    </table>
  )
}

export type { Samples }
