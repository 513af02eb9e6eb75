// The REST server of `weir run`: listens on rest.port at rest.bind-address. When the port was
// not configured and the default (8081) is taken, say by another `weir run`, it falls back to
// a free port instead of failing the job; a configured port that is taken is an error.

import type { Configuration } from '../config/configuration.ts'
import { REST_BIND_ADDRESS, REST_PORT } from '../config/options.ts'
import { UserError } from '../errors.ts'
import { JobRegistry } from './job-registry.ts'
import { RestServer } from './server.ts'

/** How long `weir run` keeps answering, after its job ended, for a client awaiting an outcome. */
export const REST_GRACE_MS = 3_000

export interface EmbeddedRestServer {
  readonly server: RestServer
  /** The line `weir run` prints once its job runs: where the API listens (and why not on rest.port). */
  readonly banner: string
}

/** Starts the server before the job, so that a port problem fails `weir run` before anything is deployed. */
export async function startEmbeddedRestServer(config: Configuration, registry: JobRegistry, log: (line: string) => void): Promise<EmbeddedRestServer> {
  const port = config.get(REST_PORT)
  const address = config.get(REST_BIND_ADDRESS) ?? '127.0.0.1'
  const onError = (e: Error) => log(`REST API: internal error: ${e.stack ?? e.message}`)
  try {
    const server = await RestServer.start(registry, { port, address, onError })
    return { server, banner: `REST API at ${server.url}` }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' && !config.has(REST_PORT)) {
      const server = await RestServer.start(registry, { port: 0, address, onError })
      return { server, banner: `REST API at ${server.url} (port ${port} is in use, probably by another job; set rest.port to choose one)` }
    }
    if (code === 'EADDRINUSE') {
      throw new UserError('WEIR_INVALID_CONFIG', `rest.port ${port} is in use on ${address}: choose another port (-D rest.port=N), or -D rest.port=0 for any free one`)
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new UserError('WEIR_INVALID_CONFIG', `rest.bind-address '${address}' is not an address of this machine`)
    }
    if (code === 'EACCES') {
      throw new UserError('WEIR_INVALID_CONFIG', `no permission to listen on port ${port} (rest.port): use a port above 1023, or 0 for any free one`)
    }
    throw e
  }
}
