// The few S3 operations checkpoint storage needs: upload a file (multipart above a size, through
// @aws-sdk/lib-storage, which uploads parts in parallel) or a completion marker (uploaded, then
// copied into place), download one, list and delete by prefix.

import { createReadStream, createWriteStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { ensureDir } from '../../../io/directories.ts'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { S3Client } from '@aws-sdk/client-s3'
import type * as LibStorage from '@aws-sdk/lib-storage'
import { lazyPackage } from '../../../io/lazy-package.ts'
import { s3Package } from './s3-location.ts'

const libStorage = lazyPackage<typeof LibStorage>('@aws-sdk/lib-storage')
import { WeirError } from '../../../errors.ts'

/** Files above this go up in parts. */
export const MULTIPART_THRESHOLD = 16 * 1024 * 1024
const PART_SIZE = 8 * 1024 * 1024

export class ObjectStore {
  constructor(readonly client: S3Client, readonly bucket: string) {}

  async putFile(key: string, path: string): Promise<void> {
    const size = (await stat(path)).size
    try {
      if (size <= MULTIPART_THRESHOLD) {
        const { readFile } = await import('node:fs/promises')
        await this.client.send(new (s3Package().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: await readFile(path) }))
      } else {
        await new (libStorage().Upload)({ client: this.client, params: { Bucket: this.bucket, Key: key, Body: createReadStream(path) }, partSize: PART_SIZE, queueSize: 4 }).done()
      }
    } catch (e) {
      throw this.failure(`uploading ${path} to s3://${this.bucket}/${key}`, e)
    }
  }

  /**
   * putFile() for a completion marker: uploaded under another key, then copied into place by the
   * store and the upload removed. S3 shows an object whole or not at all, but some S3-compatible
   * stores (s3rver, which the tests run) show a PUT's object while its bytes arrive: a process
   * killed during the upload left a truncated `_metadata`, which `--from-checkpoint latest` then
   * chose. A copy happens in the store, whatever becomes of the process that asked for it.
   */
  async putMarkerFile(key: string, path: string): Promise<void> {
    const uploading = `${key}.uploading`
    await this.putFile(uploading, path)
    try {
      await this.client.send(new (s3Package().CopyObjectCommand)({ Bucket: this.bucket, Key: key, CopySource: `${this.bucket}/${uploading.split('/').map(encodeURIComponent).join('/')}` }))
      await this.client.send(new (s3Package().DeleteObjectCommand)({ Bucket: this.bucket, Key: uploading }))
    } catch (e) {
      throw this.failure(`copying s3://${this.bucket}/${uploading} to ${key}`, e)
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    try {
      await this.client.send(new (s3Package().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: body }))
    } catch (e) {
      throw this.failure(`writing s3://${this.bucket}/${key}`, e)
    }
  }

  async getFile(key: string, path: string): Promise<void> {
    try {
      const r = await this.client.send(new (s3Package().GetObjectCommand)({ Bucket: this.bucket, Key: key }))
      await ensureDir(dirname(path))
      await pipeline(r.Body as NodeJS.ReadableStream, createWriteStream(path))
    } catch (e) {
      throw this.failure(`downloading s3://${this.bucket}/${key}`, e)
    }
  }

  /** Every object under `prefix` (a key prefix ending in '/'), with its size and time. */
  async list(prefix: string): Promise<Array<{ key: string; size: number; modified: number }>> {
    const out: Array<{ key: string; size: number; modified: number }> = []
    let token: string | undefined
    try {
      do {
        const r = await this.client.send(new (s3Package().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
        for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, modified: o.LastModified?.getTime() ?? 0 })
        token = r.IsTruncated ? r.NextContinuationToken : undefined
      } while (token)
    } catch (e) {
      throw this.failure(`listing s3://${this.bucket}/${prefix}`, e)
    }
    return out
  }

  /** Deletes every object under `prefix`; `firstKey`, when given and present, alone and before the rest (a completion marker). */
  async deletePrefix(prefix: string, firstKey?: string): Promise<void> {
    const keys = (await this.list(prefix)).map((o) => o.key)
    try {
      const first = firstKey === undefined ? -1 : keys.indexOf(firstKey)
      if (first >= 0) {
        await this.client.send(new (s3Package().DeleteObjectsCommand)({ Bucket: this.bucket, Delete: { Objects: [{ Key: firstKey }], Quiet: true } }))
        keys.splice(first, 1)
      }
      for (let i = 0; i < keys.length; i += 1000) {
        await this.client.send(new (s3Package().DeleteObjectsCommand)({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }))
      }
    } catch (e) {
      throw this.failure(`deleting s3://${this.bucket}/${prefix}`, e)
    }
  }

  private failure(what: string, e: unknown): WeirError {
    return new WeirError('WEIR_CHECKPOINT_FAILED', `S3: ${what} failed: ${(e as Error).name}: ${(e as Error).message}`, { cause: e, domain: 'external', retriable: true })
  }
}
