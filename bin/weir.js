#!/usr/bin/env node
// The `weir` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs'

const cli = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(cli)) {
  process.stderr.write('weir: the package is not built yet; run `npm install` (or `npm run build`) in its directory\n')
  process.exit(1)
}
const { main } = await import(cli.href)
process.exitCode = await main(process.argv.slice(2))
