// What a newcomer reads first: the README's links stay inside the repository, and the LICENSE
// file is the license package.json declares.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve, relative, isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')

test('every relative link or path the README points to is a file inside the repository', () => {
  const targets = [
    ...[...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t)),
    ...[...readme.matchAll(/`(\.\.?\/[^`\s]+)`/g)].map((m) => m[1]!),
  ]
  for (const target of targets) {
    const abs = resolve(root, target)
    const rel = relative(root, abs)
    assert.ok(!rel.startsWith('..') && !isAbsolute(rel), `README links outside the repository: ${target}`)
    assert.ok(existsSync(abs), `README links to a missing file: ${target}`)
  }
})

test('LICENSE is the Apache License 2.0 that package.json declares', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string }
  assert.equal(pkg.license, 'Apache-2.0')
  const license = readFileSync(join(root, 'LICENSE'), 'utf8')
  assert.match(license, /Apache License\s+Version 2\.0, January 2004/)
  assert.match(license, /END OF TERMS AND CONDITIONS/)
})

test('the README tells how to use Weir in a project of ones own, with npm ci in the checkout', () => {
  assert.match(readme, /## Use Weir in your own project/)
  assert.match(readme, /npm install \/tmp\/weir-stream-[\d.]+\.tgz/)
  assert.match(readme, /npx weir run -p 1 job\.ts/)
  assert.match(readme, /^npm ci\b/m)
})
