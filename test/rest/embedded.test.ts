// The REST server of `weir run`: rest.port, its fallback when the default port is taken, and
// rest.bind-address.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { Configuration } from '../../src/config/configuration.ts'
import { JobRegistry } from '../../src/rest/job-registry.ts'
import { startEmbeddedRestServer } from '../../src/rest/embedded.ts'
import { isWeirError } from '../../src/errors.ts'

/** Occupies a port on 127.0.0.1 (0: any); resolves null when it is already taken by someone else. */
function occupy(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(null))
    s.listen(port, '127.0.0.1', () => resolve(s))
  })
}

const close = (s: Server | null) => new Promise<void>((r) => (s ? s.close(() => r()) : r()))

test('rest.port=0 picks a free port on 127.0.0.1', async () => {
  const { server, banner } = await startEmbeddedRestServer(new Configuration({ 'rest.port': 0 }), new JobRegistry(), () => {})
  try {
    assert.equal(banner, `REST API at http://127.0.0.1:${server.port}`)
    assert.equal(server.address, '127.0.0.1')
    assert.ok(server.port > 0)
    assert.equal(server.url, `http://127.0.0.1:${server.port}`)
    const r = await fetch(`${server.url}/jobs`)
    assert.deepEqual(await r.json(), { jobs: [] })
  } finally {
    await server.close()
  }
})

test('a configured rest.port that is taken is an error naming the option', async () => {
  const blocker = (await occupy(0))!
  const port = (blocker.address() as { port: number }).port
  try {
    await assert.rejects(startEmbeddedRestServer(new Configuration({ 'rest.port': port }), new JobRegistry(), () => {}), (e: unknown) => {
      assert.ok(isWeirError(e) && e.domain === 'user')
      assert.match((e as Error).message, new RegExp(`rest.port ${port} is in use.*-D rest.port=0`))
      return true
    })
  } finally {
    await close(blocker)
  }
})

test('when the default port 8081 is taken, the server falls back to a free port and says so', async () => {
  const blocker = await occupy(8081) // null: someone else holds it, which serves as well
  try {
    const { server, banner } = await startEmbeddedRestServer(new Configuration({}), new JobRegistry(), () => {})
    try {
      assert.notEqual(server.port, 8081)
      assert.equal(banner, `REST API at http://127.0.0.1:${server.port} (port 8081 is in use, probably by another job; set rest.port to choose one)`)
    } finally {
      await server.close()
    }
  } finally {
    await close(blocker)
  }
})

test('rest.bind-address that is not an address of this machine is an error', async () => {
  await assert.rejects(
    startEmbeddedRestServer(new Configuration({ 'rest.port': 0, 'rest.bind-address': '192.0.2.1' }), new JobRegistry(), () => {}),
    /rest.bind-address '192.0.2.1' is not an address of this machine/,
  )
})
