// A job that does almost nothing, for bench/startup.ts: three records, redistributed round-robin
// from the one source subtask to every subtask of the map, printed. Its run time is start-up.
//
//   npx weir run -p 200 bench/jobs/startup-rebalance.ts

import { defineJob } from 'weir-stream'

export default defineJob('startup-rebalance', (env) => {
  env.fromElements(1, 2, 3).rebalance().map((n) => n * 2).print()
})
