// The checkpoint view, as in Flink's UI (counts, latest, history, summary, configuration,
// details per vertex and subtask), and what Flink lacks: where each checkpoint's time went,
// with one sentence saying what dominated and which setting would help.

import { useState } from 'preact/hooks'
import { fmtBytes, fmtCount, fmtMs, fmtTime, usePoll } from './api.ts'
import type { Samples } from './job.tsx'

const PAGE = 20
const PHASES = ['start_delay', 'alignment', 'sync', 'async', 'other'] as const
const PHASE_LABEL: Record<string, string> = { start_delay: 'start delay', alignment: 'alignment', sync: 'sync', async: 'async upload', other: 'ack & finalize' }

export function Checkpoints({ jobId, job, selected, samples }: { jobId: string; job: any; selected: number | null; samples: Samples }) {
  const { data, error } = usePoll<any>(`/jobs/${jobId}/checkpoints`, 1000)
  const { data: config } = usePoll<any>(`/jobs/${jobId}/checkpoints/config`, 10_000)
  const [page, setPage] = useState(0)
  if (error && !data) return <p class="error">{error}</p>
  if (!data) return <p class="muted">Loading…</p>
  for (const c of data.history) if (c.status === 'COMPLETED') samples.checkpoints.set(c.id, { at: c.latest_ack_timestamp, duration: c.end_to_end_duration, size: c.state_size, checkpointed: c.checkpointed_size })
  const c = data.counts
  const latest = data.latest
  const history: any[] = data.history
  const pages = Math.max(1, Math.ceil(history.length / PAGE))
  const shown = history.slice(page * PAGE, page * PAGE + PAGE)
  const open = (id: number) => (location.hash = `#/jobs/${jobId}/checkpoints/${id}`)
  return (
    <div id="checkpoints">
      <div class="card counts" id="checkpoint-counts">
        <div><span class="label">Triggered</span><span class="value" data-count="total">{fmtCount(c.total)}</span></div>
        <div><span class="label">In progress</span><span class="value" data-count="in_progress">{fmtCount(c.in_progress)}</span></div>
        <div><span class="label">Completed</span><span class="value" data-count="completed">{fmtCount(c.completed)}</span></div>
        <div><span class="label">Failed</span><span class="value" data-count="failed">{fmtCount(c.failed)}</span></div>
        <div><span class="label">Restored</span><span class="value" data-count="restored">{fmtCount(c.restored)}</span></div>
      </div>
      {c.total > 0 && c.failed === 0 && c.in_progress === 0 ? <p class="muted">{fmtCount(c.total)} checkpoints are triggered and all are completed.</p> : null}

      <h2>Latest completed checkpoint</h2>
      {latest.completed ? (
        <table id="latest-completed">
          <thead><tr><th>ID</th><th>Completion time</th><th class="num">End to end duration</th><th class="num">Checkpointed data size</th><th class="num">Full checkpoint data size</th><th>Path</th></tr></thead>
          <tbody><tr class="clickable" onClick={() => open(latest.completed.id)}>
            <td data-field="id">{latest.completed.id}</td><td>{fmtTime(latest.completed.latest_ack_timestamp)}</td>
            <td class="num">{fmtMs(latest.completed.end_to_end_duration)}</td>
            <td class="num" data-field="checkpointed_size" data-bytes={latest.completed.checkpointed_size}>{fmtBytes(latest.completed.checkpointed_size)}</td>
            <td class="num" data-field="state_size" data-bytes={latest.completed.state_size}>{fmtBytes(latest.completed.state_size)}</td>
            <td class="muted">{latest.completed.external_path ?? '-'}</td>
          </tr></tbody>
        </table>
      ) : <p class="muted">None yet.</p>}
      <p class="muted">
        Latest failed: {latest.failed ? `${latest.failed.id} at ${fmtTime(latest.failed.failure_timestamp)}: ${latest.failed.failure_message}` : 'none'} ·
        Latest savepoint: {latest.savepoint ? `${latest.savepoint.id} (${latest.savepoint.external_path})` : 'none'} ·
        Latest restore: {latest.restored ? `${latest.restored.id} from ${latest.restored.external_path} at ${fmtTime(latest.restored.restore_timestamp)}` : 'none'}
      </p>

      {selected !== null ? <CheckpointDetails jobId={jobId} id={selected} vertices={job.vertices} /> : null}

      <h2>History <span class="muted">(the newest {history.length}; counts and summary cover all {fmtCount(c.total)})</span></h2>
      <table id="checkpoint-history">
        <thead><tr><th>ID</th><th>Status</th><th>Acknowledged</th><th>Trigger time</th><th>Latest acknowledgement</th><th class="num">End to end duration</th><th class="num">Checkpointed data size</th><th class="num">Full checkpoint data size</th><th class="num">Processed (persisted) in-flight data</th></tr></thead>
        <tbody>
          {shown.map((h) => (
            <tr key={h.id} class={`clickable ${selected === h.id ? 'selected' : ''}`} data-checkpoint={h.id} onClick={() => open(h.id)}>
              <td>{h.id}{h.is_savepoint ? ' (savepoint)' : ''}</td><td><span class={`state ${h.status}`}>{h.status}</span></td>
              <td>{h.num_acknowledged_subtasks}/{h.num_subtasks}</td>
              <td>{fmtTime(h.trigger_timestamp)}</td><td>{fmtTime(h.latest_ack_timestamp)}</td>
              <td class="num">{fmtMs(h.end_to_end_duration)}</td><td class="num">{fmtBytes(h.checkpointed_size)}</td><td class="num">{fmtBytes(h.state_size)}</td>
              <td class="num">{fmtBytes(h.processed_data)} ({fmtBytes(h.persisted_data)})</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pages > 1 ? (
        <div class="pager"><button disabled={page === 0} onClick={() => setPage(page - 1)}>Newer</button><span>page {page + 1} of {pages}</span><button disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>Older</button></div>
      ) : null}

      <h2>Summary <span class="muted">(min / max / average over every completed checkpoint; percentiles over the newest 10,000)</span></h2>
      <table id="checkpoint-summary">
        <thead><tr><th></th><th class="num">End to end duration</th><th class="num">Checkpointed data size</th><th class="num">Full checkpoint data size</th><th class="num">Persisted in-flight data</th></tr></thead>
        <tbody>
          {(['min', 'avg', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const).map((k) => (
            <tr key={k}><th>{k === 'avg' ? 'Average' : k === 'min' ? 'Minimum' : k === 'max' ? 'Maximum' : `${k.slice(1, 3)}${k.length > 3 ? '.9' : ''}th percentile`}</th>
              <td class="num">{fmtMs(data.summary.end_to_end_duration[k])}</td><td class="num">{fmtBytes(data.summary.checkpointed_size[k])}</td>
              <td class="num">{fmtBytes(data.summary.state_size[k])}</td><td class="num">{fmtBytes(data.summary.persisted_data[k])}</td></tr>
          ))}
        </tbody>
      </table>

      <h2>Configuration</h2>
      {config ? (
        <table id="checkpoint-config">
          <tbody>
            <tr><th>Checkpointing mode</th><td>{config.mode === 'exactly_once' ? 'Exactly once' : 'At least once'}</td></tr>
            <tr><th>Interval</th><td>{config.interval === null ? 'Periodic checkpoints disabled' : fmtMs(config.interval)}</td></tr>
            <tr><th>Timeout</th><td>{fmtMs(config.timeout)}</td></tr>
            <tr><th>Minimum pause between checkpoints</th><td>{fmtMs(config.min_pause)}</td></tr>
            <tr><th>Maximum concurrent checkpoints</th><td>{config.max_concurrent}</td></tr>
            <tr><th>Unaligned checkpoints</th><td>{config.unaligned_checkpoints ? `Enabled (aligned checkpoint timeout ${fmtMs(config.aligned_checkpoint_timeout)})` : 'Disabled'}</td></tr>
            <tr><th>Persist checkpoints externally</th><td>{config.externalization.enabled ? (config.externalization.delete_on_cancellation ? 'Enabled: deleted on cancellation' : 'Enabled: retained on cancellation') : 'Disabled'}</td></tr>
            <tr><th>Tolerable failed checkpoints</th><td>{config.tolerable_failed_checkpoints}</td></tr>
            <tr><th>State backend</th><td>{config.state_backend}</td></tr>
            <tr><th>Checkpoint storage</th><td>{config.checkpoint_storage}{config.checkpoints_dir ? ` (${config.checkpoints_dir})` : ''}</td></tr>
            <tr><th>Retained checkpoints</th><td>{config.num_retained}</td></tr>
          </tbody>
        </table>
      ) : null}
    </div>
  )
}

function PhaseBar({ phases, scale }: { phases: Record<string, number>; scale: number }) {
  return (
    <div class="bar" title={PHASES.map((p) => `${PHASE_LABEL[p]} ${fmtMs(phases[p])}`).join(', ')}>
      {PHASES.map((p) => <span key={p} class={`p-${p}`} style={{ width: `${(100 * (phases[p] ?? 0)) / Math.max(1, scale)}%` }} />)}
    </div>
  )
}

function CheckpointDetails({ jobId, id, vertices }: { jobId: string; id: number; vertices: any[] }) {
  const { data, error } = usePoll<any>(`/jobs/${jobId}/checkpoints/details/${id}`, 2000)
  const [open, setOpen] = useState<number | null>(null)
  if (error) return <div class="card"><p class="error">Checkpoint {id}: {error}</p></div>
  if (!data) return <div class="card muted">Loading checkpoint {id}…</div>
  const bd = data.breakdown
  const scale = Math.max(1, ...bd.vertices.map((v: any) => Math.max(0, v.end_to_end_duration)))
  return (
    <div class="card" id="checkpoint-details">
      <h2>Checkpoint {data.id} <span class={`state ${data.status}`}>{data.status}</span> <span class="muted">{data.checkpoint_type} · triggered {fmtTime(data.trigger_timestamp)} · {fmtMs(data.end_to_end_duration)} · {fmtBytes(data.state_size)}</span></h2>
      <div class="sentence" id="checkpoint-sentence">{bd.sentence}</div>
      <div class="legend">{PHASES.map((p) => <span key={p}><i class={`p-${p}`} />{PHASE_LABEL[p]}</span>)}</div>
      <table id="checkpoint-vertices">
        <thead><tr><th>Vertex</th><th>Acknowledged</th><th>Latest acknowledgement</th><th class="num">End to end duration</th><th class="num">Checkpointed data size</th><th class="num">Full checkpoint data size</th><th>Where the slowest subtask's time went</th><th>Slowest subtask</th></tr></thead>
        <tbody>
          {vertices.map((v) => {
            const t = data.tasks[v.id]
            const b = bd.vertices.find((x: any) => x.vertex === v.id)
            if (!t) return null
            return (
              <>
                <tr key={v.id} class="clickable" data-vertex={v.id} onClick={() => setOpen(open === v.id ? null : v.id)}>
                  <td>{v.name}</td><td>{t.num_acknowledged_subtasks}/{t.num_subtasks}</td><td>{fmtTime(t.latest_ack_timestamp)}</td>
                  <td class="num">{fmtMs(t.end_to_end_duration)}</td><td class="num">{fmtBytes(t.checkpointed_size)}</td><td class="num">{fmtBytes(t.state_size)}</td>
                  <td>{b ? <PhaseBar phases={b.phases} scale={scale} /> : null}</td>
                  <td>{b?.slowest_subtask !== null && b ? `${b.slowest_subtask + 1} (${PHASES.map((p) => `${PHASE_LABEL[p]} ${fmtMs(b.phases[p])}`).join(', ')})` : '-'}</td>
                </tr>
                {open === v.id ? <tr key={`${v.id}-subtasks`}><td colSpan={8}><SubtaskDetails jobId={jobId} id={id} vertexId={v.id} /></td></tr> : null}
              </>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

function SubtaskDetails({ jobId, id, vertexId }: { jobId: string; id: number; vertexId: number }) {
  const { data } = usePoll<any>(`/jobs/${jobId}/checkpoints/details/${id}/subtasks/${vertexId}`, 3000)
  if (!data) return <span class="muted">Loading…</span>
  return (
    <table class="subtasks" data-subtasks-of={vertexId}>
      <thead><tr><th class="num">Subtask</th><th>Status</th><th>Acknowledged</th><th class="num">End to end</th><th class="num">Checkpointed size</th><th class="num">Full size</th><th class="num">Sync</th><th class="num">Async</th><th class="num">Alignment</th><th class="num">Start delay</th><th class="num">Persisted</th><th>Unaligned</th></tr></thead>
      <tbody>
        {data.subtasks.map((s: any) => s.status !== 'completed'
          ? <tr key={s.index}><td class="num">{s.index + 1}</td><td colSpan={11} class="muted">pending or failed</td></tr>
          : (
            <tr key={s.index}>
              <td class="num">{s.index + 1}</td><td>completed</td><td>{fmtTime(s.ack_timestamp)}</td><td class="num">{fmtMs(s.end_to_end_duration)}</td>
              <td class="num">{fmtBytes(s.checkpointed_size)}</td><td class="num">{fmtBytes(s.state_size)}</td>
              <td class="num">{fmtMs(s.checkpoint.sync)}</td><td class="num">{fmtMs(s.checkpoint.async)}</td><td class="num">{fmtMs(s.alignment.duration)}</td>
              <td class="num">{fmtMs(s.start_delay)}</td><td class="num">{fmtBytes(s.alignment.persisted)}</td><td>{s.unaligned_checkpoint ? 'yes' : 'no'}</td>
            </tr>
          ))}
      </tbody>
    </table>
  )
}
