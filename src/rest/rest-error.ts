// An error a REST handler raises on purpose: an HTTP status and a message the caller can act
// on. The server answers it as Flink does: `{ "errors": [message] }` with that status.

export class RestError extends Error {
  constructor(readonly status: 400 | 404 | 405 | 409 | 413 | 415 | 500 | 503, message: string, readonly headers: Record<string, string> = {}) {
    super(message)
    this.name = 'RestError'
  }
}

export const badRequest = (message: string) => new RestError(400, message)
export const notFound = (message: string) => new RestError(404, message)
export const conflict = (message: string) => new RestError(409, message)
