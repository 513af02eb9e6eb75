// Reading JSON request bodies and writing JSON responses.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { RestError, badRequest } from './rest-error.ts'

/** Largest request body accepted; every request body of this API is a few fields. */
export const MAX_BODY_BYTES = 64 * 1024

/** The request's JSON body as an object; an empty body is `{}`. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new RestError(413, `request body too large (over ${MAX_BODY_BYTES} bytes)`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw badRequest(`request body is not valid JSON: ${(e as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('request body must be a JSON object')
  }
  return value as Record<string, unknown>
}

/** Field readers that reject unknown fields and wrong types with a message naming the field. */
export class BodyFields {
  constructor(private readonly body: Record<string, unknown>, private readonly known: readonly string[]) {
    for (const key of Object.keys(body)) {
      if (!known.includes(key)) {
        const near = known.find((k) => normalize(k) === normalize(key))
        const hint = near ? `did you mean '${near}'? ` : ''
        throw badRequest(`unknown field '${key}' in the request body; ${hint}this endpoint accepts ${known.map((k) => `'${k}'`).join(', ')}`)
      }
    }
  }

  string(name: string): string | undefined {
    const v = this.body[name]
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'string' || v.trim() === '') throw badRequest(`field '${name}' must be a non-empty string`)
    return v
  }

  boolean(name: string): boolean | undefined {
    const v = this.body[name]
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'boolean') throw badRequest(`field '${name}' must be true or false`)
    return v
  }
}

/** targetDirectory, target-directory and target_directory are the same name to a human. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '')
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

export function sendErrors(res: ServerResponse, status: number, messages: string[], headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: messages }, headers)
}
