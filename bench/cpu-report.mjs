// Preloaded (node --import) into a `weir run` that bench/startup.ts starts: at exit, prints the
// CPU time of the whole process (every thread: getrusage of the process) on stderr.
process.on('exit', () => {
  const u = process.cpuUsage()
  process.stderr.write(`\nWEIR_BENCH_CPU_US ${u.user + u.system}\n`)
})
