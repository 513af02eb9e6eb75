// The LMDB backend's current key: the key a keyed operator set for the record, its cache key
// (the key itself when primitive, an interned KeyToken when composite, so that Maps find it by
// identity), and its LMDB key, encoded lazily: a record whose states all hit the in-memory
// layers never encodes its key. Composite keys and map keys are interned by their JSON text, as
// the heap backend identifies them.

import { assignToKeyGroup } from '../key-groups.ts'
import { WeirError } from '../../errors.ts'
import { encodeStateKey, isToken, KEY_BUFFER_BYTES, KeyRef, writeMapKey, type KeyToken } from './lmdb-key-layout.ts'

/** Interned tokens are pruned when there are this many more than the caller says are live. */
const TOKEN_SLACK = 4096

export class CurrentKey {
  /** The key as the user's selector returned it. */
  key: unknown = undefined
  /** The form the heap backend stores the key under (composite keys: their JSON text). */
  mapKey: unknown = undefined
  /** The cache key: the key itself, or its KeyToken when composite. */
  ck: unknown = undefined
  private ready = false
  private ukEnd = 0
  private readonly cur = new KeyRef(Buffer.allocUnsafe(KEY_BUFFER_BYTES))
  /** Tokens by JSON text: one object per composite key while any layer or cache holds it. */
  private tokens = new Map<string, KeyToken>()

  constructor(private readonly maxParallelism: number) {}

  set(key: unknown): void {
    this.key = key
    this.ready = false
    if (typeof key === 'object' && key !== null) {
      const text = JSON.stringify(key)
      this.mapKey = text
      this.ck = this.intern(text, key)
    } else {
      this.mapKey = key
      this.ck = key
    }
  }

  intern(text: string, key: unknown): KeyToken {
    let token = this.tokens.get(text)
    if (token === undefined) {
      token = { key, text, kg: assignToKeyGroup(key, this.maxParallelism) }
      this.tokens.set(text, token)
    }
    return token
  }

  /** The cache key of a map key (composite map keys by their JSON text, as user keys). */
  mapCacheKey(mk: unknown): unknown {
    return typeof mk === 'object' && mk !== null ? this.intern(JSON.stringify(mk), mk) : mk
  }

  /** The current key's LMDB key for state `id` (value-like states; map states: the header). */
  keyFor(id: number): KeyRef {
    const ref = this.cur
    if (!this.ready) {
      if (this.key === undefined) throw new WeirError('WEIR_INTERNAL', 'keyed state accessed with no current key')
      this.ukEnd = encodeStateKey(this.ck, id, ref, this.maxParallelism)
      this.ready = true
    } else {
      ref.buf[2] = id >> 8
      ref.buf[3] = id & 0xff
    }
    ref.len = this.ukEnd
    return ref
  }

  /** The LMDB key of map entry `mk` of the current key in state `id`. */
  entryKeyFor(id: number, mk: unknown): KeyRef {
    const ref = this.keyFor(id)
    ref.len = writeMapKey(mk, ref.buf, this.ukEnd)
    return ref
  }

  /**
   * Forgets tokens no cache or layer holds any more, when there are many more than `liveBound`:
   * `live` lists every cache key still held (called after a commit, when no frozen generation
   * or map change is left: only read caches and value-like pending writes hold tokens).
   */
  pruneTokens(liveBound: number, live: () => Iterable<unknown>): void {
    if (this.tokens.size <= liveBound + TOKEN_SLACK) return
    const kept = new Map<string, KeyToken>()
    for (const ck of live()) if (isToken(ck)) kept.set((ck as KeyToken).text, ck as KeyToken)
    if (isToken(this.ck)) kept.set((this.ck as KeyToken).text, this.ck as KeyToken)
    this.tokens = kept
  }
}
