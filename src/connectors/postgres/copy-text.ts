// Encodes rows in COPY's text format (tab-separated, \N for null, backslash escapes), so that a
// batch of rows goes to the server as one string. Hot path: one string append per value, no
// per-row allocation beyond the text itself.

import { WeirError } from '../../errors.ts'

const NEEDS_ESCAPE = /[\\\t\n\r]/

function escapeText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
}

/** One value as COPY text. */
export function copyValue(value: unknown, column: string): string {
  switch (typeof value) {
    case 'string':
      return escapeText(value)
    case 'number':
      if (!Number.isFinite(value)) return value !== value ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'
      return String(value)
    case 'bigint':
      return value.toString()
    case 'boolean':
      return value ? 't' : 'f'
    case 'undefined':
      return '\\N'
    case 'object':
      if (value === null) return '\\N'
      if (value instanceof Date) return value.toISOString()
      return escapeText(JSON.stringify(value))
    default:
      throw new WeirError('WEIR_INVALID_INPUT', `PostgresSink: column '${column}' got a ${typeof value}, which has no PostgreSQL form`, { domain: 'user' })
  }
}

/** Appends one row (with its newline) to `text`. */
export function appendCopyRow(text: string, row: readonly unknown[], columns: readonly string[]): string {
  if (row.length !== columns.length) {
    throw new WeirError('WEIR_INVALID_INPUT', `PostgresSink: a record gave ${row.length} values for the ${columns.length} columns ${columns.join(', ')}: ${JSON.stringify(row).slice(0, 200)}`, { domain: 'user' })
  }
  let line = copyValue(row[0], columns[0]!)
  for (let i = 1; i < row.length; i++) line += '\t' + copyValue(row[i], columns[i]!)
  return text + line + '\n'
}
