// A Bloom filter of the LMDB keys the backend has stored values under, so that a read of a key
// never written (the first record of every new key: a third of a Zipf stream's reads, more of
// a uniform one's) answers "absent" without an LMDB lookup (a B-tree descent, ~2 us here), as
// RocksDB's filters do. It may answer "maybe" for an absent key (then LMDB is asked), never
// "absent" for a stored one: every put of a value-like state adds its key, and a restore, which
// writes LMDB around the commits, adds every key it left. Deletions are not removed (a deleted
// key just costs a lookup). It grows as a scalable Bloom filter: when a layer holds as many
// keys as it is sized for, a layer twice as large takes the new ones; a query asks every layer.

import type { RootDatabase } from 'lmdb'
import { LOWEST_KEY, STATE_KEYS_END, type KeyRef } from './lmdb-key-layout.ts'

/** Bits per key a layer is sized for (two probes: about 5 % false "maybe" when full). */
const BITS_PER_KEY = 8
/** The first layer's size in bits (128 KiB), enough for 131 072 keys. */
const FIRST_LAYER_BITS = 1 << 20
/** Layers stop doubling at 2^30 bits (128 MiB): bit indexes stay 31-bit integers. */
const MAX_LAYER_BITS = 1 << 30

interface Layer {
  readonly bits: Int32Array
  /** Bit index mask (the size is a power of two). */
  readonly mask: number
  readonly capacity: number
  added: number
}

export class KeyFilter {
  private layers: Layer[] = []

  constructor() {
    this.clear()
  }

  /** Whether a value may be stored under `ref`'s key (false: certainly not). */
  mayContain(ref: KeyRef): boolean {
    const h1 = hash(ref.buf, ref.len)
    const h2 = mix(h1)
    const layers = this.layers
    for (let i = 0; i < layers.length; i++) {
      const { bits, mask } = layers[i]!
      const a = h1 & mask
      const b = h2 & mask
      if ((bits[a >>> 5]! & (1 << (a & 31))) !== 0 && (bits[b >>> 5]! & (1 << (b & 31))) !== 0) return true
    }
    return false
  }

  /** Notes a key a value is stored under (the first `len` bytes of `buf`). */
  add(buf: Uint8Array, len: number): void {
    let layer = this.layers[this.layers.length - 1]!
    if (layer.added >= layer.capacity) {
      layer = newLayer(Math.min((layer.mask + 1) * 2, MAX_LAYER_BITS))
      this.layers.push(layer)
    }
    layer.added++
    const h1 = hash(buf, len)
    const h2 = mix(h1)
    const a = h1 & layer.mask
    const b = h2 & layer.mask
    layer.bits[a >>> 5]! |= 1 << (a & 31)
    layer.bits[b >>> 5]! |= 1 << (b & 31)
  }

  /** Forgets every key, then notes every key `db` holds (after a restore wrote it directly). */
  rebuild(db: RootDatabase<Buffer, any>): void {
    this.clear()
    for (const key of db.getKeys({ start: LOWEST_KEY, end: STATE_KEYS_END }) as Iterable<Buffer>) this.add(key, key.length)
  }

  private clear(): void {
    this.layers = [newLayer(FIRST_LAYER_BITS)]
  }
}

function newLayer(bits: number): Layer {
  return { bits: new Int32Array(bits >>> 5), mask: bits - 1, capacity: Math.floor(bits / BITS_PER_KEY), added: 0 }
}

/** FNV-1a over the first `len` bytes. */
function hash(buf: Uint8Array, len: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < len; i++) h = Math.imul(h ^ buf[i]!, 0x01000193)
  return h >>> 0
}

/** A second, independent-enough hash of the first (murmur3's finalizer). */
function mix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
