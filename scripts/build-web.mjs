// Builds the web UI (web/) into dist/web with esbuild: one bundled, minified script with preact
// and uPlot inside, the page and its styles. Run by `npm run build`; nothing is fetched at run time.

import { build } from 'esbuild'
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'web')
mkdirSync(out, { recursive: true })
await build({
  entryPoints: [join(root, 'web', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
})
copyFileSync(join(root, 'web', 'index.html'), join(out, 'index.html'))
copyFileSync(join(root, 'web', 'style.css'), join(out, 'style.css'))
const require = createRequire(import.meta.url)
copyFileSync(join(dirname(require.resolve('uplot')), 'uPlot.min.css'), join(out, 'uPlot.min.css'))
