// The Weir web UI: a single page on the REST API of the server that serves it (Flink's routes
// and field names). Hash routes: #/ jobs, #/jobs/:id/:tab, #/taskmanagers. Built with esbuild
// into dist/web (scripts/build-web.mjs): preact for components, uPlot for charts.

import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { fmtMs, fmtTime, usePoll } from './api.ts'
import { JobPage } from './job.tsx'
import { TaskManagers } from './taskmanagers.tsx'

function useRoute(): string[] {
  const parse = () => location.hash.replace(/^#\/?/, '').split('/').filter((s) => s !== '')
  const [route, setRoute] = useState(parse())
  useEffect(() => {
    const on = () => setRoute(parse())
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  return route
}

function Header({ route }: { route: string[] }) {
  const { data } = usePoll<any>('/overview', 3000)
  return (
    <header>
      <a class="brand" href="#/">Weir</a>
      <nav>
        <a href="#/" class={route[0] !== 'taskmanagers' ? 'active' : ''}>Jobs</a>
        <a href="#/taskmanagers" class={route[0] === 'taskmanagers' ? 'active' : ''}>Task Managers</a>
      </nav>
      <span class="cluster">
        {data ? `${data.taskmanagers} TaskManager(s) · ${data['slots-total']} slots (${data['slots-available']} free) · ${data['jobs-running']} running · version ${data['flink-version']}` : ''}
      </span>
    </header>
  )
}

function JobList() {
  const { data, error } = usePoll<any>('/jobs/overview', 2000)
  if (error && !data) return <p class="error">{error}</p>
  if (!data) return <p class="muted">Loading…</p>
  const now = Date.now()
  return (
    <div>
      <h1>Jobs</h1>
      <table id="job-list">
        <thead><tr><th>Job name</th><th>Start time</th><th class="num">Duration</th><th>Job id</th><th>Status</th></tr></thead>
        <tbody>
          {data.jobs.map((j: any) => (
            <tr class="clickable" key={j.jid} onClick={() => (location.hash = `#/jobs/${j.jid}/overview`)}>
              <td><a href={`#/jobs/${j.jid}/overview`}>{j.name}</a></td>
              <td>{fmtTime(j['start-time'])}</td>
              <td class="num">{fmtMs(j['end-time'] > 0 ? j.duration : now - j['start-time'])}</td>
              <td class="muted">{j.jid}</td>
              <td><span class={`state ${j.state}`}>{j.state}</span></td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.jobs.length === 0 ? <p class="muted">No jobs.</p> : null}
    </div>
  )
}

function App() {
  const route = useRoute()
  let page
  if (route[0] === 'jobs' && route[1]) page = <JobPage jobId={route[1]} tab={route[2] ?? 'overview'} rest={route.slice(3)} />
  else if (route[0] === 'taskmanagers') page = <TaskManagers />
  else page = <JobList />
  return (
    <div>
      <Header route={route} />
      <main>{page}</main>
    </div>
  )
}

render(<App />, document.getElementById('app')!)
