// The LMDB backend keeps state larger than the process's heap: a child process with a capped
// heap writes several times its heap size of state and reads a sample back. The default size
// (about 3.5x a 128 MB heap) keeps the suite quick on a loaded machine; WEIR_LARGE_STATE_KEYS
// and WEIR_LARGE_STATE_HEAP_MB run the original drill (2,200,000 keys of 1 KiB under 512 MB).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const child = fileURLToPath(new URL('./large-state-child.ts', import.meta.url))
const heapMB = Number(process.env.WEIR_LARGE_STATE_HEAP_MB ?? 128)
const keys = Number(process.env.WEIR_LARGE_STATE_KEYS ?? 450_000)

test(`the lmdb backend holds several times the heap in state (${keys} values of 1 KiB, heap capped at ${heapMB} MB)`, { timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-lmdb-large-'))
  try {
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      execFile(process.execPath, [`--max-old-space-size=${heapMB}`, '--import', 'tsx', child, dir, String(keys)], { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`child failed (${error.message}): ${stderr}`))
        else resolve({ stdout })
      })
    })
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { fileBytes: number; checked: number; heapUsedMB: number; writeSeconds: number; syncPhaseMs: number }
    console.log(`# large state: ${JSON.stringify(result)}`)
    assert.ok(result.fileBytes >= 3 * heapMB * 1024 ** 2, `LMDB file is ${result.fileBytes} bytes, not 3x the ${heapMB} MB heap`)
    assert.ok(result.checked >= Math.floor(keys / 997))
    assert.ok(result.heapUsedMB < heapMB)
    assert.deepEqual(readdirSync(dir), [], 'dispose removed the working directory')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
