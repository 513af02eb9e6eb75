// GET /jobs/:jobid/vertices/:vertexid/watermarks: each subtask's current input watermark, in
// Flink's shape (a list of metrics named `<subtask>.currentInputWatermark`, values as strings).
// Before the first watermark the value is Flink's Long.MIN_VALUE; after the final one, Long.MAX_VALUE.

import { jobEntry, ok, type Handler } from './context.ts'
import { notFound } from '../rest-error.ts'

const LONG_MIN = '-9223372036854775808'
const LONG_MAX = '9223372036854775807'

export function watermarkText(time: number): string {
  if (time === -Infinity) return LONG_MIN
  if (time === Infinity) return LONG_MAX
  return String(Math.trunc(time))
}

export const vertexWatermarks: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const raw = ctx.params['vertexid']!
  const vertices = job.job.graph.vertices
  const vertex = /^\d+$/.test(raw) ? vertices.find((v) => v.id === Number(raw)) : undefined
  if (!vertex) throw notFound(`job ${job.jobId} has no vertex '${raw}'; its vertices are ${vertices.map((v) => v.id).join(', ')} (GET /jobs/${job.jobId})`)
  const marks = job.watermarks?.(vertex.id) ?? Array.from({ length: vertex.parallelism }, () => -Infinity)
  return ok(marks.map((w, subtask) => ({ id: `${subtask}.currentInputWatermark`, value: watermarkText(w) })))
}
