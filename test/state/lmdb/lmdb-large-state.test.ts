import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const child = fileURLToPath(new URL('./large-state-child.ts', import.meta.url))

test('the lmdb backend holds more than 2 GB of state in a process whose heap is capped at 512 MB', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-lmdb-large-'))
  try {
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      execFile(process.execPath, ['--max-old-space-size=512', '--import', 'tsx', child, dir, '2200000'], { timeout: 170_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`child failed (${error.message}): ${stderr}`))
        else resolve({ stdout })
      })
    })
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { fileBytes: number; checked: number; heapUsedMB: number; writeSeconds: number; syncPhaseMs: number }
    console.log(`# large state: ${JSON.stringify(result)}`)
    assert.ok(result.fileBytes >= 2 * 1024 ** 3, `LMDB file is ${result.fileBytes} bytes`)
    assert.ok(result.checked > 2000)
    assert.ok(result.heapUsedMB < 512)
    assert.deepEqual(readdirSync(dir), [], 'dispose removed the working directory')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
