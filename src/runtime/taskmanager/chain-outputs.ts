// The outputs a task's operators emit into: the hand-off to the next operator of a chain, and
// at the chain's end the record writers of the main output and of each side output read downstream.

import type { StreamOperator, Output } from '../../operators/operator.ts'
import type { RecordWriter } from '../network/record-writer.ts'
import { WATERMARK_ACTIVE, WATERMARK_IDLE } from '../network/events.ts'

/** Per-record hand-off to the next operator of the chain. Side outputs inside a chain have no consumer (the graph never chains behind an operator whose side output is read). */
export class ChainingOutput implements Output<unknown> {
  constructor(private readonly next: StreamOperator<unknown, unknown>) {}
  collect(record: unknown): void {
    this.next.processElement(record)
  }
  emitWatermark(time: number): void {
    this.next.processWatermark(time)
  }
  emitWatermarkStatus(idle: boolean): void {
    this.next.processWatermarkStatus(idle)
  }
  collectSide(): void {}
}

/** The end of a chain: the main output's writers, and the writers of each side output read downstream. */
export class WritersOutput implements Output<unknown> {
  private readonly main: RecordWriter[]
  private readonly all: RecordWriter[]
  private readonly side = new Map<string, RecordWriter[]>()
  constructor(writers: readonly RecordWriter[], tags: readonly (string | null)[]) {
    this.all = [...writers]
    this.main = writers.filter((_w, i) => tags[i] === null)
    writers.forEach((w, i) => {
      const tag = tags[i]
      if (tag === null || tag === undefined) return
      const list = this.side.get(tag) ?? []
      list.push(w)
      this.side.set(tag, list)
    })
  }
  collect(record: unknown): void {
    const main = this.main
    for (let i = 0; i < main.length; i++) main[i]!.collect(record)
  }
  emitWatermark(time: number): void {
    for (const w of this.all) w.emitWatermark(time)
  }
  emitWatermarkStatus(idle: boolean): void {
    const event = idle ? WATERMARK_IDLE : WATERMARK_ACTIVE
    for (const w of this.all) w.broadcastEvent(event)
  }
  collectSide(tagId: string, record: unknown): void {
    const writers = this.side.get(tagId)
    if (writers !== undefined) for (const w of writers) w.collect(record)
  }
}
