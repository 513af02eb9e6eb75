// What a newcomer reads first: the README's links stay inside the repository, and the LICENSE
// file is the license package.json declares.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve, relative, isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')

test('the README links only to files inside the repository, and names no path outside it', () => {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t))
  for (const target of links) {
    const rel = relative(root, resolve(root, target))
    assert.ok(!rel.startsWith('..') && !isAbsolute(rel), `README links outside the repository: ${target}`)
    assert.ok(existsSync(resolve(root, target)), `README links to a missing file: ${target}`)
  }
  for (const m of readme.matchAll(/`(\.\.\/[^`\s]*\.md)`/g)) assert.fail(`README points to a document outside the repository: ${m[1]}`)
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

test('the README table lists every configuration key Weir reads, with its default and its Flink 1.x name (npm run docs:options)', async () => {
  const { optionsTableMarkdown } = await import('../../src/config/options-table.ts')
  const { ALL_OPTIONS } = await import('../../src/config/options.ts')
  const table = optionsTableMarkdown()
  for (const option of ALL_OPTIONS.values()) {
    assert.match(table, new RegExp(`^\\| \`${option.key.replaceAll('.', '\\.')}\` \\|`, 'm'))
  }
  assert.ok(readme.includes(table), 'README.md configuration table is out of date with src/config/options.ts: run npm run docs:options')
})

test('the README names configuration keys by their Flink 2 names only (1.x names appear only in the table)', async () => {
  const { ALL_OPTIONS } = await import('../../src/config/options.ts')
  const { TABLE_START, TABLE_END } = await import('../../src/config/options-table.ts')
  const outsideTable = readme.slice(0, readme.indexOf(TABLE_START)) + readme.slice(readme.indexOf(TABLE_END))
  for (const option of ALL_OPTIONS.values()) {
    for (const old of option.fallbackKeys) {
      assert.ok(!new RegExp(`(?:\`|-D )${old.replaceAll('.', '\\.')}[\`=:]`).test(outsideTable), `README uses the Flink 1.x name ${old}; use ${option.key}`)
    }
  }
})
