// Weir's version, read once from package.json (for /config, /overview and `weir --version`).

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_DIR } from './package-layout.ts'

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

export const WEIR_VERSION = readVersion()
