// A client for the REST API, for the CLI's control commands (weir list / savepoint / stop /
// cancel). node:http rather than fetch: connection errors keep their codes, and `localhost`
// tries both IPv4 and IPv6 (the server listens on 127.0.0.1 by default).

import { request } from 'node:http'

export class RestClientError extends Error {
  constructor(message: string, readonly status: number | null = null) {
    super(message)
    this.name = 'RestClientError'
  }
}

export interface Endpoint {
  readonly host: string
  readonly port: number
}

export const DEFAULT_JOBMANAGER = 'localhost:8081'

/** Parses `host:port`, `host`, `[::1]:port` or `http://host:port`; the port defaults to 8081. */
export function parseEndpoint(text: string): Endpoint {
  const bad = () => new RestClientError(`invalid --jobmanager '${text}': expected host:port, e.g. localhost:8081`)
  let rest = text.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '')
  if (rest === '') throw bad()
  let host: string
  let portText: string | undefined
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']')
    if (end < 0) throw bad()
    host = rest.slice(1, end)
    rest = rest.slice(end + 1)
    if (rest !== '' && !rest.startsWith(':')) throw bad()
    portText = rest === '' ? undefined : rest.slice(1)
  } else {
    const parts = rest.split(':')
    if (parts.length > 2) throw bad()
    host = parts[0]!
    portText = parts[1]
  }
  if (host === '' || /[\s/]/.test(host)) throw bad()
  const port = portText === undefined ? 8081 : /^\d+$/.test(portText) ? Number(portText) : NaN
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad()
  return { host, port }
}

export function describeEndpoint(e: Endpoint): string {
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`
}

export class RestClient {
  constructor(readonly endpoint: Endpoint, private readonly timeoutMs = 30_000) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path)
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body)
  }

  patch<T>(path: string): Promise<T> {
    return this.call<T>('PATCH', path)
  }

  /** Sends a request; resolves with the JSON body of a 2xx answer, rejects with the API's message otherwise. */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const where = describeEndpoint(this.endpoint)
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          host: this.endpoint.host, port: this.endpoint.port, method, path, timeout: this.timeoutMs,
          headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }) },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', (e) => reject(new RestClientError(`connection to ${where} broke: ${e.message}`)))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            const status = res.statusCode ?? 0
            let json: unknown
            try {
              json = text === '' ? {} : JSON.parse(text)
            } catch {
              reject(new RestClientError(`${where} answered ${method} ${path} with ${status} and a body that is not JSON; is it a Weir JobManager?`, status))
              return
            }
            if (status >= 200 && status < 300) return resolve(json as T)
            const errors = (json as { errors?: unknown }).errors
            const message = Array.isArray(errors) && errors.length > 0 ? errors.map(String).join('; ') : `${method} ${path} failed with HTTP ${status}`
            reject(new RestClientError(message, status))
          })
        },
      )
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
      req.on('error', (e: NodeJS.ErrnoException) => reject(new RestClientError(connectionMessage(e, where))))
      req.end(payload)
    })
  }
}

function connectionMessage(e: NodeJS.ErrnoException, where: string): string {
  const codes = [e.code, ...((e as unknown as { errors?: NodeJS.ErrnoException[] }).errors ?? []).map((x) => x.code)]
  if (codes.includes('ECONNREFUSED') || codes.includes('EADDRNOTAVAIL')) return `no JobManager at ${where}: is a job running with its REST API there?`
  if (codes.includes('ENOTFOUND') || codes.includes('EAI_AGAIN')) return `cannot resolve the host of ${where}`
  if (codes.includes('ETIMEDOUT')) return `the JobManager at ${where} did not answer in time`
  if (codes.includes('ECONNRESET')) return `the JobManager at ${where} closed the connection (did its job just end?)`
  return `cannot reach the JobManager at ${where}: ${e.message}`
}
