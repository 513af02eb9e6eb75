// Packages that only some jobs use (the PostgreSQL, NATS and S3 clients) are loaded when first
// used, not when Weir's public API is imported: every slot's thread imports that API through the
// job, and loading these clients cost most of a thread's start (about 0.2 s of CPU of the 0.8 s
// that importing the API took), which a job at a high parallelism paid once per thread whether it
// used them or not. The loading is synchronous (require of the packages' CommonJS builds), so the
// code that uses them keeps its shape; their types are imported with `import type`.

import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** A function that loads package `name` on its first call and returns it (the same module every call). */
export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined
  return () => (loaded ??= require(name) as T)
}
