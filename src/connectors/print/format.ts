// How print() shows a record: a two-element array as a Flink tuple "(hello,1)", strings and
// numbers as they are, anything else as JSON.

export function formatRecord(record: unknown): string {
  if (typeof record === 'string') return record
  if (typeof record === 'number' || typeof record === 'boolean' || typeof record === 'bigint') return String(record)
  if (Array.isArray(record) && record.length === 2) return `(${formatField(record[0])},${formatField(record[1])})`
  if (record === undefined) return 'undefined'
  return JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
}

function formatField(v: unknown): string {
  return typeof v === 'string' ? v : formatRecord(v)
}
