// The `weir` entry point itself: --version and top-level usage, through the built bin/weir.js.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/weir.js')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }

test('weir --version prints the package version and exits 0', () => {
  const out = execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
  assert.equal(out.trim(), pkg.version)
})

test('weir -V is the short form of --version', () => {
  const out = execFileSync(process.execPath, [bin, '-V'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
  assert.equal(out.trim(), pkg.version)
})
