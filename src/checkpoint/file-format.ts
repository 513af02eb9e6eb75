// The framing of every file Weir writes for a checkpoint or savepoint: a magic number, a
// format version, the kind of file, the payload's length and its CRC-32, then the payload.
// Files are written under a temporary name, fsynced and renamed into place, so a reader sees a
// whole file or none; reading checks every field and names the file when one is wrong.

import { open, rename, readFile, unlink, type FileHandle } from 'node:fs/promises'
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'
import { WeirError } from '../errors.ts'
import { ensureDir } from '../io/directories.ts'
import { storageFailure } from '../io/storage-error.ts'
import { yieldTurn } from '../state/task-slices.ts'

const MAGIC = 0x57454952 // "WEIR"
export const FORMAT_VERSION = 1
const HEADER_BYTES = 4 + 2 + 2 + 8 + 4

/** SINK_COMMIT_MARKER: what a file sink subtask committed last, kept beside its output (file-sink.ts). */
export const FileKind = { TASK_STATE: 1, METADATA: 2, CHANNEL_STATE: 3, LMDB_SEGMENT: 4, SINK_COMMIT_MARKER: 5 } as const
export type FileKind = (typeof FileKind)[keyof typeof FileKind]

export function frame(kind: FileKind, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length)
  out.writeUInt32BE(MAGIC, 0)
  out.writeUInt16BE(FORMAT_VERSION, 4)
  out.writeUInt16BE(kind, 6)
  out.writeBigUInt64BE(BigInt(payload.length), 8)
  out.writeUInt32BE(crc32(payload), 16)
  out.set(payload, HEADER_BYTES)
  return out
}

/** Checks a framed file's bytes and returns its payload; `path` names the file in errors. */
export function unframe(bytes: Uint8Array, expectedKind: FileKind, path: string): Uint8Array {
  const damaged = (why: string) => new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint file ${path} is damaged: ${why}`, { domain: 'external' })
  if (bytes.length < HEADER_BYTES) throw damaged(`it is ${bytes.length} bytes long, shorter than its header`)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  if (buf.readUInt32BE(0) !== MAGIC) throw damaged('it does not start with the Weir file marker')
  const version = buf.readUInt16BE(4)
  if (version > FORMAT_VERSION) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint file ${path} has format version ${version}; this Weir reads up to version ${FORMAT_VERSION}`, { domain: 'user' })
  const kind = buf.readUInt16BE(6)
  if (kind !== expectedKind) throw damaged(`it holds file kind ${kind}, expected ${expectedKind}`)
  const length = Number(buf.readBigUInt64BE(8))
  if (length !== buf.length - HEADER_BYTES) throw damaged(`its header announces ${length} bytes of payload but ${buf.length - HEADER_BYTES} are there (truncated or extended)`)
  const payload = buf.subarray(HEADER_BYTES)
  if (crc32(payload) !== buf.readUInt32BE(16)) throw damaged('checksum mismatch (the content was altered)')
  return payload
}

/**
 * Writes a framed file atomically: temporary name, fsync, rename, fsync of the directory. A
 * failure is a StorageError naming the file and the operating system's reason.
 */
export async function writeFramedFile(path: string, kind: FileKind, payload: Uint8Array): Promise<number> {
  return writeFramedChunks(path, kind, [payload])
}

/** CRC-32 of the payload is computed this many bytes at a time, yielding between (a task thread runs this; ~3 ms a slice on a loaded core). */
const CRC_SLICE = 1 << 20

/**
 * writeFramedFile for a payload given as chunks (their concatenation), which are never joined:
 * the checksum is computed and the chunks are written a piece at a time, so that a large
 * payload does not hold the calling thread for long.
 */
export async function writeFramedChunks(path: string, kind: FileKind, chunks: readonly Uint8Array[]): Promise<number> {
  let length = 0
  let crc = 0
  // Yield after every CRC_SLICE bytes, counted across chunks: a large sliced snapshot is many
  // small chunks, none of which alone would reach the slice.
  let sinceYield = 0
  const owner = {}
  for (const c of chunks) {
    length += c.length
    for (let at = 0; at < c.length; at += CRC_SLICE) {
      const piece = c.subarray(at, at + CRC_SLICE)
      crc = crc32(piece, crc)
      sinceYield += piece.length
      if (sinceYield >= CRC_SLICE) {
        sinceYield = 0
        await yieldTurn(owner)
      }
    }
  }
  const header = Buffer.allocUnsafe(HEADER_BYTES)
  header.writeUInt32BE(MAGIC, 0)
  header.writeUInt16BE(FORMAT_VERSION, 4)
  header.writeUInt16BE(kind, 6)
  header.writeBigUInt64BE(BigInt(length), 8)
  header.writeUInt32BE(crc, 16)
  await ensureDir(dirname(path))
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`
  try {
    const handle = await open(tmp, 'w')
    try {
      await writeAll(handle, [header, ...chunks])
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (e) {
    await unlink(tmp).catch(() => {})
    throw storageFailure(e, 'write checkpoint file', path)
  }
  await syncDirectory(dirname(path))
  return HEADER_BYTES + length
}

/** Buffers per writev call (POSIX guarantees at least 16; Linux takes 1024). */
const WRITEV_BUFFERS = 1024

/**
 * Writes `chunks` one after another through writev, up to WRITEV_BUFFERS at a time: a sliced
 * snapshot is hundreds of small chunks, and one write (a promise and a trip to the thread pool)
 * per chunk cost the task thread more than encoding them. A short write goes on from where it
 * stopped.
 */
async function writeAll(handle: FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  const pending = chunks.filter((c) => c.length > 0)
  let at = 0
  while (at < pending.length) {
    const group = pending.slice(at, at + WRITEV_BUFFERS)
    let expected = 0
    for (const c of group) expected += c.length
    const { bytesWritten } = await handle.writev(group)
    if (bytesWritten < expected) {
      // Rare (a full disk, a signal): write what is left of the group chunk by chunk.
      let skip = bytesWritten
      for (const c of group) {
        if (skip >= c.length) {
          skip -= c.length
          continue
        }
        let rest = c.subarray(skip)
        skip = 0
        while (rest.length > 0) {
          const { bytesWritten: n } = await handle.write(rest)
          if (n === 0) throw new Error(`no progress writing ${rest.length} bytes`)
          rest = rest.subarray(n)
        }
      }
    }
    at += group.length
  }
}

/**
 * writeFramedFile for a small file written from a synchronous path (a sink's committer): the
 * same temporary name, fsync and rename; the caller fsyncs the directory (with its other renames).
 */
export function writeFramedFileSync(path: string, kind: FileKind, payload: Uint8Array): void {
  const bytes = frame(kind, payload)
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`
  try {
    const fd = openSync(tmp, 'w')
    try {
      let off = 0
      while (off < bytes.length) off += writeSync(fd, bytes, off)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (e) {
    try {
      unlinkSync(tmp)
    } catch {
      // it may not exist
    }
    throw storageFailure(e, 'write', path)
  }
}

export async function readFramedFile(path: string, kind: FileKind): Promise<Uint8Array> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', code === 'ENOENT' ? `checkpoint file ${path} is missing` : `cannot read checkpoint file ${path}: ${code ?? (e as Error).message}`, { domain: 'external' })
  }
  return unframe(bytes, kind, path)
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch {
    // Some file systems do not support fsync on directories; the rename is still atomic.
  } finally {
    await handle.close()
  }
}
