// Rewrites the configuration table in README.md from src/config/options.ts.
import { readFileSync, writeFileSync } from 'node:fs'
import { withOptionsTable } from '../src/config/options-table.ts'

const path = new URL('../README.md', import.meta.url)
writeFileSync(path, withOptionsTable(readFileSync(path, 'utf8')))
