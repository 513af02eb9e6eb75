// A job that does almost nothing, for bench/startup.ts: three records through a keyBy (an
// all-to-all exchange between the source's and the reduce's subtasks), printed.
//
//   npx weir run -p 200 bench/jobs/startup-keyed.ts

import { defineJob } from 'weir-stream'

export default defineJob('startup-keyed', (env) => {
  env.fromElements(1, 2, 3).keyBy((n) => n % 2).reduce((a, b) => a + b).print()
})
