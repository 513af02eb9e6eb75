// The web UI in a real browser: Debian's chromium driven by playwright-core, against a real job
// with checkpoints. The counts and sizes the page shows must equal the REST API's; the test opens
// a checkpoint's details (per vertex and per subtask) and the job graph, and saves screenshots
// under test-output/web/ for a person to look at. Needs `npm run build` (the UI is built into
// dist/web; `npm test` builds first) and /usr/bin/chromium (.ci/run installs it).

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { Harness } from '../rest/harness.ts'
import type { LiveJob } from '../runtime/live-job.ts'

/** The page's document, as the functions that run in the browser see it (the test itself has no DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null }

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'test-output', 'web')
const USER_METRICS = join(ROOT, 'test', 'fixtures', 'jobs', 'user-metrics.ts')
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

let h: Harness
let job: LiveJob
let ckptDir: string
let profile: string
let browser: BrowserContext
let page: Page

before(async () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'web', 'app.js')), 'the web UI is built (npm run build)')
  assert.ok(existsSync('/usr/bin/chromium'), 'chromium is installed (apt-get install chromium, as .ci/run does)')
  mkdirSync(OUT, { recursive: true })
  ckptDir = mkdtempSync(join(tmpdir(), 'weir-ui-ckpt-'))
  h = await Harness.start()
  // Periodic checkpoints far apart: the test triggers its own, so that the counts stand still.
  job = await h.run({ 'execution.checkpointing.interval': '1h', 'state.checkpoints.dir': ckptDir }, USER_METRICS, 0)
  profile = mkdtempSync(join(tmpdir(), 'weir-ui-chromium-'))
  // headless: true passes --headless; the profile directory is the fresh --user-data-dir.
  browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS, viewport: { width: 1400, height: 900 } })
  page = browser.pages()[0] ?? (await browser.newPage())
})

after(async () => {
  await browser?.close()
  await h?.close()
  for (const d of [ckptDir, profile]) if (d) rmSync(d, { recursive: true, force: true })
})

async function triggerCheckpoint(jobId: string): Promise<number> {
  for (;;) {
    const r = await h.api('POST', `/jobs/${jobId}/checkpoints`, {})
    if (r.status === 202) {
      const id = r.body['checkpoint-id'] as number
      await h.poll(`/jobs/${jobId}/checkpoints`, (s) => s.latest.completed?.id >= id)
      return id
    }
    // 409 while the tasks are still being deployed
    assert.equal(r.status, 409, JSON.stringify(r.body))
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('the job list, the graph, the checkpoint view with counts and sizes equal to the REST API, details per vertex and subtask', async () => {
  const id = job.execution.jobId
  for (let i = 0; i < 3; i++) await triggerCheckpoint(id)
  const rest = (await h.api('GET', `/jobs/${id}/checkpoints`)).body

  await page.goto(`${h.server.url}/`)
  await page.locator('#job-list').getByText('UserMetrics').waitFor()
  await page.screenshot({ path: join(OUT, '1-jobs.png') })

  await page.locator('#job-list').getByText('UserMetrics').click()
  await page.locator('#job-graph .vertex').nth(1).waitFor()
  await page.waitForFunction(() => /RUNNING/.test(document.querySelector('#job-graph')?.textContent ?? '') && /[1-9]/.test(document.querySelector('#vertices tbody tr:last-child td:nth-child(4)')?.textContent ?? ''))
  const names = await page.locator('#job-graph .vertex .name').allTextContents()
  assert.deepEqual(names, ['Ticks', 'Counting Map -> Sink'])
  assert.match(await page.locator('#job-graph .edge').textContent() ?? '', /HASH/)
  await page.screenshot({ path: join(OUT, '2-job-graph.png'), fullPage: true })

  await page.getByRole('link', { name: 'Checkpoints' }).click()
  await page.locator('[data-count="completed"]').waitFor()
  await page.waitForFunction((n) => document.querySelector('[data-count="completed"]')?.textContent === String(n), rest.counts.completed)
  assert.equal(await page.locator('[data-count="completed"]').textContent(), String(rest.counts.completed))
  assert.equal(await page.locator('[data-count="total"]').textContent(), String(rest.counts.total))
  assert.equal(await page.locator('[data-count="failed"]').textContent(), String(rest.counts.failed))
  const latest = page.locator('#latest-completed')
  assert.equal(await latest.locator('[data-field="id"]').textContent(), String(rest.latest.completed.id))
  assert.equal(await latest.locator('[data-field="state_size"]').getAttribute('data-bytes'), String(rest.latest.completed.state_size))
  assert.equal(await latest.locator('[data-field="checkpointed_size"]').getAttribute('data-bytes'), String(rest.latest.completed.checkpointed_size))
  assert.equal(await page.locator('#checkpoint-history tbody tr').count(), rest.history.length)
  await page.locator('#checkpoint-config').waitFor()
  await page.screenshot({ path: join(OUT, '3-checkpoints.png'), fullPage: true })

  // A checkpoint's details: where the time went, per vertex, then one vertex's subtasks.
  const cid = rest.latest.completed.id
  await page.locator(`#checkpoint-history tr[data-checkpoint="${cid}"]`).click()
  await page.locator('#checkpoint-sentence').waitFor()
  const details = (await h.api('GET', `/jobs/${id}/checkpoints/details/${cid}`)).body
  assert.equal(await page.locator('#checkpoint-sentence').textContent(), details.breakdown.sentence)
  await page.locator('#checkpoint-vertices tr[data-vertex="1"]').click()
  await page.locator('table[data-subtasks-of="1"] tbody tr').nth(1).waitFor()
  assert.equal(await page.locator('table[data-subtasks-of="1"] tbody tr').count(), 2)
  await page.locator('#checkpoint-details').screenshot({ path: join(OUT, '4-checkpoint-details.png') })
})

test('exceptions, live charts and the TaskManagers page', async () => {
  const id = job.execution.jobId
  await page.goto(`${h.server.url}/#/jobs/${id}/charts`)
  await page.locator('#charts canvas').first().waitFor()
  assert.equal(await page.locator('#charts .uplot').count(), 3)
  // Until the throughput chart has gathered a few points (the page samples once a second).
  await page.waitForFunction(() => Number(document.querySelector('#charts .chart')?.getAttribute('data-points')) >= 4)
  await page.screenshot({ path: join(OUT, '5-charts.png'), fullPage: true })

  await page.getByRole('link', { name: 'Exceptions' }).click()
  await page.locator('#exceptions').getByText('No exception').waitFor()

  await page.getByRole('link', { name: 'Task Managers' }).click()
  await page.locator('#taskmanagers tbody tr').first().waitFor()
  const slots = await page.locator('#taskmanagers tbody tr td:nth-child(3)').textContent()
  const tms = (await h.api('GET', '/taskmanagers')).body.taskmanagers
  assert.equal(slots, String(tms[0].slotsNumber))
  await page.screenshot({ path: join(OUT, '6-taskmanagers.png') })
})
