// A minimal router: routes are a method and a path pattern with `:name` segments. A path that
// matches a pattern under another method is answered 405 with the methods that would work.

import { RestError } from './rest-error.ts'

export type Params = Readonly<Record<string, string>>

interface Route<H> {
  readonly method: string
  readonly segments: readonly string[]
  readonly handler: H
}

export interface Match<H> {
  readonly handler: H
  readonly params: Params
}

export class Router<H> {
  private readonly routes: Route<H>[] = []

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method, segments: split(pattern), handler })
    return this
  }

  /** The handler for this request; throws 404 for an unknown path and 405 for a wrong method. */
  match(method: string, path: string): Match<H> {
    const segments = split(path)
    const allowed: string[] = []
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments)
      if (!params) continue
      if (route.method === method) return { handler: route.handler, params }
      if (!allowed.includes(route.method)) allowed.push(route.method)
    }
    if (allowed.length > 0) {
      throw new RestError(405, `${method} is not supported on ${path}; use ${allowed.join(' or ')}`, { allow: allowed.join(', ') })
    }
    throw new RestError(404, `no such endpoint: ${method} ${path} (see GET /jobs)`)
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0)
}

function matchSegments(pattern: readonly string[], path: readonly string[]): Record<string, string> | null {
  if (pattern.length !== path.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!
    let s: string
    try {
      s = decodeURIComponent(path[i]!)
    } catch {
      return null
    }
    if (p.startsWith(':')) params[p.slice(1)] = s
    else if (p !== s) return null
  }
  return params
}
