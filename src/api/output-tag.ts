// Side outputs (Flink's OutputTag): a named, typed extra output of a process function or a
// window (late data). `ctx.output(tag, value)` emits to it; `stream.getSideOutput(tag)` reads it.

import { UserError } from '../errors.ts'

export class OutputTag<T> {
  constructor(readonly id: string) {
    if (typeof id !== 'string' || id.length === 0) throw new UserError('WEIR_INVALID_ARGUMENT', 'new OutputTag(id): the id must be a non-empty string')
  }
  /** @internal the element type, for type checks only */
  declare readonly __type?: T
}
