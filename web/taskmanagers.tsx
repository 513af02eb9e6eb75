// The TaskManagers page: slots, hardware and memory of each.

import { fmtBytes, usePoll } from './api.ts'

export function TaskManagers() {
  const { data } = usePoll<any>('/taskmanagers', 3000)
  if (!data) return <p class="muted">Loading…</p>
  return (
    <div>
      <h1>Task Managers</h1>
      <table id="taskmanagers">
        <thead><tr><th>Id</th><th>Path</th><th class="num">Slots</th><th class="num">Free slots</th><th class="num">CPU cores</th><th class="num">Physical memory</th><th class="num">Free memory</th><th class="num">Last heartbeat</th></tr></thead>
        <tbody>
          {data.taskmanagers.map((t: any) => (
            <tr key={t.id}>
              <td>{t.id}</td><td class="muted">{t.path}</td>
              <td class="num">{t.slotsNumber}</td><td class="num">{t.freeSlots}</td>
              <td class="num">{t.hardware.cpuCores}</td><td class="num">{fmtBytes(t.hardware.physicalMemory)}</td><td class="num">{fmtBytes(t.hardware.freeMemory)}</td>
              <td class="num">{t.timeSinceLastHeartbeat} ms ago</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
