// The word count benchmark: Weir's word count (bench/jobs/wordcount-discard.ts) at parallelism 1
// and 2 against a hand-written single-threaded loop doing the same counting, on a generated
// Zipf-distributed corpus; then checkpointing and recovery. Each configuration runs in a child
// process of its own, in order, so that its peak RSS is its own; the runtime is the built one in
// dist/. The configurations:
//
//   baseline      the hand-written loop
//   ceiling       two hand-written loops in two worker threads, each on half the file: what the
//                 machine's two cores allow at best
//   rxjs, streams the same count with RxJS operators and with Node object-mode streams, in process
//                 (what a Node user would write instead; neither is fault tolerant)
//   p1, p2        the word count at -p 1 and -p 2, checkpoints off
//   p1-ckpt       p1 with an exactly-once checkpoint every 1 s to filesystem storage
//   p2-ckpt       p2 with a checkpoint every 1 s to filesystem storage (bench/.data/ckpt-*):
//                 the throughput overhead against p2, and the checkpoints' durations and phases
//   recovery      p2 with checkpoints every 1 s and restart-strategy fixed-delay, delay 0, and one
//                 failure injected at about half the input (bench/jobs/wordcount-fail-once.ts):
//                 the time from the failure until records flow again, and whether the final
//                 counts are exact
//   backpressure  bench/jobs/backpressure.ts (fast source, keyBy, stateful map, slow sink) at -p 2
//                 for --bp-seconds, checkpoints every 1 s: aligned, unaligned, and unaligned with
//                 a 50 ms aligned-checkpoint timeout, each at the default network credits and at 64
//
//   npm run bench                                  # 20M words (after npm run build)
//   npm run bench -- --words 2000000               # a quick run
//   npm run bench -- --only p1 --cpu-prof          # profile p1 (main thread and every worker)
//   node --import tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile
//
// Options: --words N (default 20_000_000); --only baseline,ceiling,rxjs,streams,p1,p1-ckpt,p2,p2-ckpt,recovery,backpressure;
// --cpu-prof; --repeat N (run the configurations N rounds and report each one's fastest run: the
// machine is shared, so the minimum is the figure least disturbed by other work; for recovery the
// fastest recovery); --bp-seconds S (length of each back-pressure run, default 15: with 64 credits
// the buffers take ~10 s to fill up); --bp-sink-us U (the back-pressure job's sink busy-waits U µs
// per record, default 10); -D key=value
// (repeatable) to configure the weir runs, e.g. -D taskmanager.network.batch-records=4096 (a
// configuration's own keys, such as the checkpoint interval, take precedence).
// Writes bench/results/wordcount.json. Exits 1 when a run fails or the counts disagree.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DEFAULT_CORPUS, ensureCorpus, type CorpusInfo } from './corpus.ts'
import type { ChildResult, WeirParams } from './protocol.ts'
import { defaultMaxParallelism, keyedSplit, type KeyedSplit } from './keyed-split.ts'
import { buildChild, collectProfiles, machineBusySeconds, runChild, splitThreadCpu, warmPageCache } from './wordcount-children.ts'
import { fmtBytes, fmtInt, fmtMs, recoveryFigures, summarizeCheckpoints, table, type RecoveryFigures, type Run } from './wordcount-figures.ts'
import {
  BP_KEYS, CHECKPOINT_INTERVAL_MS, COUNTING, DATA_DIR, DIST_BUNDLE, DIST_INDEX, JOBS, PROFILE_DIR, RESULTS_DIR, ROOT, TARGETS,
  parseOptions, specsFor, type JobName, type PlainMode,
} from './wordcount-plan.ts'

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  for (const f of [DIST_INDEX, DIST_BUNDLE]) {
    if (!existsSync(f)) {
      console.error(`error: ${relative(ROOT, f)} is missing: run npm run build first (npm run bench does)`)
      process.exit(1)
    }
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')

  const corpus: CorpusInfo = ensureCorpus(DATA_DIR, { ...DEFAULT_CORPUS, words: options.words }, (m) => console.log(m))
  console.log(`corpus: ${relative(ROOT, corpus.path)}: ${fmtInt(corpus.words)} words, ${fmtInt(corpus.lines)} lines, ${(corpus.bytes / 2 ** 20).toFixed(1)} MiB, ` +
    `${fmtInt(corpus.distinctUsed)} of ${fmtInt(corpus.vocabulary)} words used, Zipf s=${corpus.exponent}, top 10 words ${(corpus.top10Share * 100).toFixed(1)}% of text, ` +
    `mean word length ${corpus.meanWordLength.toFixed(2)}` + (corpus.generatedSeconds > 0 ? ` (generated in ${corpus.generatedSeconds.toFixed(1)} s)` : ' (cached)'))
  warmPageCache(corpus.path)
  const child = buildChild()
  const specs = options.only.flatMap((c) => specsFor(c, options, corpus))

  // The jobs, bundled by the built bundler: each must point 'weir-stream' at dist/index.js.
  const artifacts = new Map<JobName, { url: string; dispose(): void }>()
  const needed = [...new Set(specs.map((s) => s.job).filter((j): j is JobName => j !== null))]
  if (needed.length > 0) {
    const { bundleJob } = (await import(pathToFileURL(DIST_BUNDLE).href)) as typeof import('../src/cli/bundle.ts')
    for (const job of needed) {
      const artifact = await bundleJob(JOBS[job])
      artifacts.set(job, artifact)
      const code = readFileSync(fileURLToPath(artifact.url), 'utf8')
      if (!code.includes(JSON.stringify(DIST_INDEX)) || /src[\\/]index\.ts/.test(code)) {
        console.error(`error: the bundled job ${relative(ROOT, JOBS[job])} does not import the runtime from ${DIST_INDEX}`)
        for (const a of artifacts.values()) a.dispose()
        process.exit(1)
      }
    }
  }

  const cpuProfDir = options.cpuProf ? PROFILE_DIR : null
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true })
  const all: Run[] = []
  let failed = false
  try {
    for (let round = 1; round <= options.repeat; round++) {
      for (const spec of specs) {
        process.stdout.write(`running ${spec.label}${options.repeat > 1 ? ` (round ${round}/${options.repeat})` : ''} ... `)
        const checkpointDir = spec.checkpointDir ? mkdtempSync(join(DATA_DIR, 'ckpt-')) : null
        const marks = spec.marksDir ? mkdtempSync(join(DATA_DIR, 'marks-')) : null
        let result: ChildResult
        let recovery: RecoveryFigures | undefined
        const busyBefore = machineBusySeconds()
        const spawned = performance.now()
        try {
          if (spec.job === null) {
            result = await runChild(child, spec.label, spec.config as PlainMode, { corpus: corpus.path }, null)
          } else {
            const params: WeirParams = {
              corpus: corpus.path, parallelism: spec.parallelism, artifactUrl: artifacts.get(spec.job)!.url, runtimeUrl: pathToFileURL(DIST_INDEX).href,
              config: { ...options.config, ...spec.weirConfig, ...(checkpointDir ? { 'execution.checkpointing.dir': checkpointDir } : {}) },
              args: spec.args?.({ marks }), cancelAfterMs: spec.cancelAfterMs, watchRecovery: spec.watchRecovery,
            }
            result = await runChild(child, spec.label, 'weir', params, cpuProfDir)
          }
          if (marks && result.ok) recovery = recoveryFigures(marks, result, corpus)
        } finally {
          for (const dir of [checkpointDir, marks]) if (dir) rmSync(dir, { recursive: true, force: true })
        }
        const busyAfter = machineBusySeconds()
        const wall = Math.max(0.001, (performance.now() - spawned) / 1000)
        // Rough (the child's CPU is read just before it exits), but enough to spot interference.
        const otherCores = busyBefore !== null && busyAfter !== null ? Math.max(0, (busyAfter - busyBefore - result.cpuSeconds) / wall) : null
        const profileLabel = `${stamp}-${spec.label.replace(/[^a-z0-9-]+/gi, '_')}${options.repeat > 1 ? `-r${round}` : ''}`
        const profiles = cpuProfDir && spec.job !== null ? collectProfiles(cpuProfDir, profileLabel) : []
        const checkpointStats = result.checkpointing ? summarizeCheckpoints(result.checkpointing.history, spec.cancelAfterMs ?? null) : undefined
        const counted = spec.job === 'wordcount' || spec.job === null
        all.push({
          ...result, config: spec.config, label: spec.label, round, wordsPerSecond: counted && result.seconds > 0 ? result.words / result.seconds : 0,
          peakRssMB: result.maxRssKiB / 1024, profiles, otherCores, threadCpu: spec.job !== null ? splitThreadCpu(result, spec.parallelism) : null, variant: spec.variant, checkpointStats, recovery,
        })
        if (!result.ok) {
          console.log('FAILED')
          console.error(`error: ${spec.label}: ${result.error}`)
          failed = true
          continue
        }
        const notes: string[] = []
        if (checkpointStats) notes.push(`${checkpointStats.completed} checkpoints${checkpointStats.failed > 0 ? `, ${checkpointStats.failed} failed` : ''}`)
        if (result.restarts) notes.push(`${result.restarts} restart${result.restarts > 1 ? 's' : ''}`)
        if (recovery?.recoveryMs != null) notes.push(`recovered in ${fmtMs(recovery.recoveryMs)} ms`)
        if (otherCores !== null && otherCores > 0.25) notes.push(`other processes used ${otherCores.toFixed(2)} cores meanwhile: figures are disturbed`)
        console.log(`${result.seconds.toFixed(2)} s${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`)
      }
    }
  } finally {
    // With profiles, keep the bundles: profile-summary maps the job's code through its inline source map.
    if (options.cpuProf) for (const a of artifacts.values()) console.log(`kept the job bundle for the profiles: ${fileURLToPath(a.url)}`)
    else for (const a of artifacts.values()) a.dispose()
  }

  // Correctness: every word count counted every word of the corpus, and the job read every line;
  // the recovery run's final counts are exact.
  const problems: string[] = []
  const baseWords = all.find((r) => r.config === 'baseline' && r.ok)?.words
  for (const run of all) {
    if (!run.ok) continue
    if (COUNTING.includes(run.config)) {
      if (run.words !== corpus.words) problems.push(`${run.label} counted ${fmtInt(run.words)} words, the corpus has ${fmtInt(corpus.words)}`)
      if (run.lines !== corpus.lines) problems.push(`${run.label} read ${fmtInt(run.lines)} lines, the corpus has ${fmtInt(corpus.lines)}`)
      if (run.config !== 'baseline' && baseWords !== undefined && run.words !== baseWords) problems.push(`${run.label}: recordsOut ${fmtInt(run.words)} differs from the baseline's ${fmtInt(baseWords)} words`)
    }
    if ((run.config === 'p2-ckpt' || run.config === 'p1-ckpt') && (run.restarts ?? 0) > 0) problems.push(`${run.label} restarted ${run.restarts} times`)
    const rec = run.recovery
    if (rec) {
      if (!rec.injected) problems.push(`${run.label}: the failure was not injected`)
      else if (run.restarts !== 1) problems.push(`${run.label}: ${run.restarts} restarts, expected 1`)
      if (!rec.exact) problems.push(`${run.label}: the sum of the final counts is ${rec.sumOfLastCounts === null ? 'missing' : fmtInt(rec.sumOfLastCounts)} over ${rec.distinctWords === null ? '-' : fmtInt(rec.distinctWords)} words; the corpus has ${fmtInt(corpus.words)} words, ${fmtInt(corpus.distinctUsed)} distinct`)
    }
  }

  // Per run label: its best successful run (fastest; for recovery the quickest recovery; for a
  // back-pressure variant the one with the most completed checkpoints); peak RSS over all its runs.
  interface Summary { best: Run; runs: Run[]; medianSeconds: number; peakRssMB: number }
  const summaries = new Map<string, Summary>()
  for (const label of [...new Set(specs.map((s) => s.label))]) {
    const runs = all.filter((r) => r.label === label && r.ok)
    if (runs.length === 0) continue
    const bySeconds = [...runs].sort((a, b) => a.seconds - b.seconds)
    const mid = bySeconds.length >> 1
    const medianSeconds = bySeconds.length % 2 === 1 ? bySeconds[mid]!.seconds : (bySeconds[mid - 1]!.seconds + bySeconds[mid]!.seconds) / 2
    const config = runs[0]!.config
    const best = config === 'recovery'
      ? [...runs].sort((a, b) => (a.recovery?.recoveryMs ?? Infinity) - (b.recovery?.recoveryMs ?? Infinity))[0]!
      : config === 'backpressure'
        ? [...runs].sort((a, b) => (b.checkpointStats?.completed ?? 0) - (a.checkpointStats?.completed ?? 0) || (a.checkpointStats?.p99Ms ?? Infinity) - (b.checkpointStats?.p99Ms ?? Infinity))[0]!
        : bySeconds[0]!
    summaries.set(label, { best, runs, medianSeconds, peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)) })
  }
  const base = summaries.get('baseline')
  const p1 = summaries.get('p1')
  const p2 = summaries.get('p2')
  const p2ckpt = summaries.get('p2-ckpt')
  const p1ckpt = summaries.get('p1-ckpt')
  const recovery = summaries.get('recovery')
  const bpLabels = [...summaries.keys()].filter((l) => l.startsWith('backpressure/'))

  // The word counts.
  const header = ['configuration', 'words', 'seconds', 'words/s', 'x baseline', 'peak RSS MB', 'CPU s', 'CPU s/M words', 'main / slots / other', 'other load']
  if (options.repeat > 1) header.splice(3, 0, 'median s')
  const rows: string[][] = [header]
  const names: Record<string, string> = {
    baseline: 'baseline (hand-written loop)', ceiling: 'two hand loops, two threads', rxjs: 'RxJS, in process', streams: 'Node object streams, in process',
    p1: 'weir -p 1', 'p1-ckpt': `weir -p 1, checkpoints ${CHECKPOINT_INTERVAL_MS / 1000} s`, p2: 'weir -p 2', 'p2-ckpt': `weir -p 2, checkpoints ${CHECKPOINT_INTERVAL_MS / 1000} s`,
  }
  for (const label of COUNTING) {
    const s = summaries.get(label)
    if (!s) continue
    const r = s.best
    const ratio = base ? (r.wordsPerSecond / base.best.wordsPerSecond).toFixed(3) : '-'
    const name = names[label]!
    const threads = r.threadCpu === null ? '-' : `${r.threadCpu.main.toFixed(2)} / ${r.threadCpu.slots.map((c) => c.toFixed(2)).join(' ')} / ${r.threadCpu.other.toFixed(2)}`
    const perMillion = r.words > 0 ? (r.cpuSeconds / r.words * 1e6).toFixed(2) : '-'
    const row = [name, fmtInt(r.words), r.seconds.toFixed(2), fmtInt(r.wordsPerSecond), ratio, s.peakRssMB.toFixed(0), r.cpuSeconds.toFixed(2), perMillion, threads, r.otherCores === null ? '-' : r.otherCores.toFixed(2)]
    if (options.repeat > 1) row.splice(3, 0, s.medianSeconds.toFixed(2))
    rows.push(row)
  }
  if (rows.length > 1) {
    console.log(`\n${table(rows)}`)
    console.log(`${options.repeat > 1 ? `the fastest of ${options.repeat} runs; ` : ''}CPU s: CPU time of the process, all threads; main / slots / other: CPU s of the main thread (JobManager and start-up), of each slot thread, and of all other threads (V8's compiler and GC helpers); other load: cores used by other processes meanwhile`)
  }

  const vsBase = (s: Summary | undefined) => (base && s ? s.best.wordsPerSecond / base.best.wordsPerSecond : null)
  const ratios = {
    ceilingVsBaseline: vsBase(summaries.get('ceiling')),
    rxjsVsBaseline: vsBase(summaries.get('rxjs')),
    streamsVsBaseline: vsBase(summaries.get('streams')),
    p1VsBaseline: base && p1 ? p1.best.wordsPerSecond / base.best.wordsPerSecond : null,
    p1CkptVsBaseline: vsBase(p1ckpt),
    /** (p1 - p1-ckpt) / p1 throughput, in per cent. */
    p1CheckpointOverheadPct: p1 && p1ckpt ? ((p1.best.wordsPerSecond - p1ckpt.best.wordsPerSecond) / p1.best.wordsPerSecond) * 100 : null,
    p2VsBaseline: base && p2 ? p2.best.wordsPerSecond / base.best.wordsPerSecond : null,
    p2VsP1: p1 && p2 ? p2.best.wordsPerSecond / p1.best.wordsPerSecond : null,
    /** (p2 - p2-ckpt) / p2 throughput, in per cent. */
    checkpointOverheadPct: p2 && p2ckpt ? ((p2.best.wordsPerSecond - p2ckpt.best.wordsPerSecond) / p2.best.wordsPerSecond) * 100 : null,
  }
  if (ratios.p2VsP1 !== null) console.log(`\np2 / p1 = ${ratios.p2VsP1.toFixed(3)}${ratios.ceilingVsBaseline !== null ? ` (the two-thread ceiling: ${ratios.ceilingVsBaseline.toFixed(3)} x the hand loop)` : ''}`)
  // What the keyBy's division of the words allows -p 2, however cheap the exchange.
  let split: KeyedSplit | null = null
  if (p2 !== undefined) {
    const configured = Number(options.config['pipeline.max-parallelism'] ?? -1)
    split = keyedSplit(corpus, 2, configured > 0 ? configured : defaultMaxParallelism(2))
    const perThread = ratios.ceilingVsBaseline !== null ? ratios.ceilingVsBaseline / 2 : null
    console.log(`keyed split at -p 2 (max parallelism ${split.maxParallelism}): the counting subtasks get ${split.shares.map((s) => `${(s * 100).toFixed(1)} %`).join(' and ')} of the words; ` +
      `with the busiest doing all of its words' work, -p 2 reaches at most ${(1 / split.busiest).toFixed(2)} x -p 1` +
      (perThread !== null ? `, ${(perThread / split.busiest).toFixed(2)} x at the two-thread ceiling's ${perThread.toFixed(3)} per thread` : '') +
      ' (its tokenizing is divided evenly, so a little more)')
  }
  if (ratios.p1CheckpointOverheadPct !== null) console.log(`checkpoint overhead (p1 - p1-ckpt) / p1 = ${ratios.p1CheckpointOverheadPct.toFixed(1)} %`)
  if (ratios.checkpointOverheadPct !== null) console.log(`${ratios.p2VsP1 === null ? '\n' : ''}checkpoint overhead (p2 - p2-ckpt) / p2 = ${ratios.checkpointOverheadPct.toFixed(1)} %`)

  // The checkpoints of every run that took them.
  const ckptLabels = ['p1-ckpt', 'p2-ckpt', 'recovery', ...bpLabels].filter((l) => summaries.get(l)?.best.checkpointStats)
  if (ckptLabels.length > 0) {
    const crow: string[][] = [['run', 'completed', 'failed', 'p50 ms', 'p99 ms', 'max sync ms', 'max async ms', 'max align ms', 'state (last)', 'max gap ms', 'at interval', 'records/s', 'other load']]
    const reasons: string[] = []
    for (const label of ckptLabels) {
      const r = summaries.get(label)!.best
      const c = r.checkpointStats!
      const rate = r.config === 'recovery' ? '-' : fmtInt(r.words / Math.max(0.001, r.seconds))
      crow.push([label, String(c.completed), String(c.failed), fmtMs(c.p50Ms), fmtMs(c.p99Ms), fmtMs(c.maxSyncMs), fmtMs(c.maxAsyncMs), fmtMs(c.maxAlignmentMs), fmtBytes(c.stateBytes), fmtMs(c.maxGapMs), c.keptPace === null ? '-' : c.keptPace ? 'yes' : 'NO', rate, r.otherCores === null ? '-' : r.otherCores.toFixed(2)])
      for (const why of c.failureReasons) reasons.push(`  ${label}: ${why}`)
    }
    console.log(`\ncheckpoints (every ${CHECKPOINT_INTERVAL_MS / 1000} s, filesystem storage; durations from trigger to completion; max gap: longest time between two completions):`)
    console.log(table(crow))
    if (bpLabels.length > 0) console.log(`back-pressure runs: ${options.bpSeconds} s each, then canceled; sink busy-waits ${options.bpSinkUs} µs per record; records/s: through the sink; at interval: completed >= ${options.bpSeconds}/${CHECKPOINT_INTERVAL_MS / 1000} - 2`)
    if (reasons.length > 0) console.log(`failed checkpoints:\n${reasons.join('\n')}`)
  }

  // Recovery.
  const rec = recovery?.best.recovery
  if (recovery && rec) {
    console.log('\nrecovery (restart-strategy fixed-delay with delay 0, so this is the engine\'s own cost: failure detection, redeploy, restore, first record):')
    console.log(table([
      ['failure at line', 'ckpts before', 'redeploy ms', 'recovery ms', 'polled ms', 'restarts', 'lines read after restart', 'sum of final counts', 'exact', 'other load'],
      [rec.failLine === null ? '-' : fmtInt(rec.failLine), rec.checkpointsBeforeFailure === null ? '-' : String(rec.checkpointsBeforeFailure), fmtMs(rec.redeployMs), fmtMs(rec.recoveryMs), fmtMs(rec.polledMs),
        String(recovery.best.restarts ?? 0), `${fmtInt(rec.linesLastAttempt)} of ${fmtInt(corpus.lines)}`, rec.sumOfLastCounts === null ? '-' : fmtInt(rec.sumOfLastCounts), rec.exact ? 'yes' : 'NO',
        recovery.best.otherCores === null ? '-' : recovery.best.otherCores.toFixed(2)],
    ]))
    console.log('recovery ms: from Date.now() just before the tokenizer throws to the first line a tokenizer of the new attempt processes; redeploy ms: to the new attempt\'s start on the JobManager;\n' +
      'polled ms: to the first 5 ms poll of execution.metrics with records in the new attempt (workers report every 200 ms); exact: the sink\'s last count per word sums to the corpus\'s words')
  }

  const verdict = (ok: boolean | null): 'PASS' | 'MISS' | 'n/a' => (ok === null ? 'n/a' : ok ? 'PASS' : 'MISS')
  const weir = [p1, p2].filter((s): s is Summary => s !== undefined)
  const peak = weir.length > 0 ? Math.max(...weir.map((s) => s.peakRssMB)) : null
  const p99 = p2ckpt?.best.checkpointStats?.p99Ms ?? null
  const recoveryMs = rec?.recoveryMs ?? null
  const bpRuns = bpLabels.map((l) => summaries.get(l)!.best)
  const pace = (runs: Run[]) => ({
    ok: runs.length === 0 ? null : runs.every((r) => r.checkpointStats?.keptPace === true),
    fewest: runs.length === 0 ? null : Math.min(...runs.map((r) => r.checkpointStats?.completed ?? 0)),
    count: runs.length,
  })
  const unalignedPace = pace(bpRuns.filter((r) => r.variant?.mode === 'unaligned'))
  const timeoutPace = pace(bpRuns.filter((r) => r.variant?.unaligned && r.variant.mode !== 'unaligned'))
  const minCompleted = options.bpSeconds / (CHECKPOINT_INTERVAL_MS / 1000) - 2
  const targets = [
    { target: `p1 >= ${TARGETS.p1VsBaseline} x baseline`, value: ratios.p1VsBaseline, threshold: TARGETS.p1VsBaseline, result: verdict(ratios.p1VsBaseline === null ? null : ratios.p1VsBaseline >= TARGETS.p1VsBaseline) },
    { target: `p1 with exactly-once checkpoints every 1 s >= ${TARGETS.p1CkptVsBaseline} x baseline`, value: ratios.p1CkptVsBaseline, threshold: TARGETS.p1CkptVsBaseline, result: verdict(ratios.p1CkptVsBaseline === null ? null : ratios.p1CkptVsBaseline >= TARGETS.p1CkptVsBaseline) },
    { target: 'p2 >= 1.6 x p1', value: ratios.p2VsP1, threshold: TARGETS.p2VsP1, result: verdict(ratios.p2VsP1 === null ? null : ratios.p2VsP1 >= TARGETS.p2VsP1) },
    { target: `peak RSS < ${TARGETS.peakRssMB} MB (weir runs)`, value: peak, threshold: TARGETS.peakRssMB, result: verdict(peak === null ? null : peak < TARGETS.peakRssMB) },
    { target: `checkpoint overhead <= ${TARGETS.checkpointOverheadPct} % (p2 vs p2-ckpt, %)`, value: ratios.checkpointOverheadPct, threshold: TARGETS.checkpointOverheadPct, result: verdict(ratios.checkpointOverheadPct === null ? null : ratios.checkpointOverheadPct <= TARGETS.checkpointOverheadPct) },
    { target: `p99 checkpoint duration < ${TARGETS.checkpointP99Ms} ms (p2-ckpt, ms)`, value: p99, threshold: TARGETS.checkpointP99Ms, result: verdict(p99 === null ? null : p99 < TARGETS.checkpointP99Ms) },
    { target: `recovery < ${TARGETS.recoveryMs} ms (ms)`, value: recoveryMs, threshold: TARGETS.recoveryMs, result: verdict(recoveryMs === null ? null : recoveryMs < TARGETS.recoveryMs && rec?.exact === true) },
    { target: `back-pressure, unaligned: checkpoints complete at the interval (fewest completed of ${unalignedPace.count} runs, need >= ${minCompleted})`, value: unalignedPace.fewest, threshold: minCompleted, result: verdict(unalignedPace.ok) },
    { target: `back-pressure, unaligned with 50 ms aligned-checkpoint timeout: the same (of ${timeoutPace.count} runs)`, value: timeoutPace.fewest, threshold: minCompleted, result: verdict(timeoutPace.ok) },
  ]
  console.log('\ntargets:')
  for (const t of targets) console.log(`  ${t.result.padEnd(4)}  ${t.target}: ${t.value === null ? '-' : Number.isInteger(t.value) || Math.abs(t.value) >= 100 ? fmtInt(t.value) : t.value.toFixed(3)}`)

  const profiles = all.flatMap((r) => r.profiles)
  if (profiles.length > 0) {
    console.log('\nCPU profiles (thread1..thread<p> are the slot workers, in slot order):')
    for (const p of profiles) console.log(`  ${relative(ROOT, p)}`)
    console.log('summarise one with: node --import tsx bench/profile-summary.ts <file>')
  }

  mkdirSync(RESULTS_DIR, { recursive: true })
  const rel = (r: Run) => ({ ...r, profiles: r.profiles.map((p) => relative(ROOT, p)) })
  const json = {
    benchmark: 'wordcount',
    timestamp: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    options,
    corpus: { ...corpus, path: relative(ROOT, corpus.path) },
    /** The best run of each configuration (and of each back-pressure variant), as in the tables. */
    results: Object.fromEntries([...summaries].map(([k, s]) => [k, { ...rel(s.best), medianSeconds: s.medianSeconds, peakRssMBAllRuns: s.peakRssMB }])),
    ratios,
    /** How the keyBy divides the corpus's words between the two counting subtasks of p2 (null: p2 did not run). */
    keyedSplit: split,
    /** Checkpoint interval of p2-ckpt, recovery and backpressure; the back-pressure job's sink cost. */
    checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
    backpressureJob: { sinkMicrosPerRecord: options.bpSinkUs, keys: BP_KEYS, seconds: options.bpSeconds },
    targets,
    problems,
    /** Every run, in the order they ran; weir runs with checkpoints carry the coordinator's history. */
    runs: all.map(rel),
  }
  const out = join(RESULTS_DIR, 'wordcount.json')
  writeFileSync(out, JSON.stringify(json, null, 2) + '\n')
  console.log(`\nwrote ${relative(ROOT, out)}`)

  if (problems.length > 0) {
    for (const p of problems) console.error(`error: ${p}`)
    failed = true
  }
  if (failed) process.exit(1)
}

await main()
