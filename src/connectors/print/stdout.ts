// Where print output goes from a worker thread. By default straight to file descriptor 1 with
// synchronous writes (a slow reader of stdout then slows the job: back-pressure, bounded
// memory). While the CLI draws a status line on a terminal, the runtime routes the text to
// the main thread instead, which clears the status line, writes, and redraws it.

import { writeSync } from 'node:fs'

export interface TextOutput {
  write(text: string): void
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/** Writes all of `text` to fd 1, waiting out EAGAIN on a non-blocking pipe. */
export function writeFully(fd: number, text: string): void {
  let buf = Buffer.from(text, 'utf8')
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf)
      buf = buf.subarray(n)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e
      Atomics.wait(sleeper, 0, 0, 1)
    }
  }
}

export const stdoutWriter: { target: TextOutput } & TextOutput = {
  target: { write: (text) => writeFully(1, text) },
  write(text: string) {
    this.target.write(text)
  },
}
