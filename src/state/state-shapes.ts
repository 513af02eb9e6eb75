// The shape of each keyed state, recorded in every checkpoint and checked on restore, as
// Flink's serializer compatibility check does: a state is restored only into a state of the
// same kind, name and type. Without it, another job with the same uids but other key and value
// types restored a stranger's state without a word. JavaScript keeps no types at run time, so
// the type is the one the user names on the descriptor (`withTypeName`), else what the
// descriptor shows (its default value's type) with the serializer's identity; a state whose
// type changed on purpose declares a migration (`withMigration`) instead of a silent change.

import type { StateDescriptor, StateKind } from '../api/state.ts'
import { UserError } from '../errors.ts'

/** The serializer every state value goes through (msgpackr, in batch-codec.ts). */
export const STATE_SERIALIZER = 'msgpack/1'

export interface StateShape {
  readonly name: string
  readonly kind: StateKind
  /** The type name set on the descriptor, or null. */
  readonly typeName: string | null
  /** The serializer's identity and what the descriptor shows of the value type ('?' when nothing). */
  readonly serializer: string
}

/** A structural tag of a value's type: 'number', 'string', 'object{a,b}', 'array', ... */
function typeTag(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (value instanceof Map) return 'map'
  if (typeof value === 'object') return `object{${Object.keys(value as object).sort().join(',')}}`
  return typeof value
}

export function shapeOf(descriptor: StateDescriptor): StateShape {
  const d = descriptor as StateDescriptor & { defaultValue?: unknown }
  const shown = d.kind === 'value' && d.defaultValue !== undefined ? typeTag(d.defaultValue) : '?'
  return { name: d.name, kind: d.kind, typeName: d.typeName, serializer: `${STATE_SERIALIZER}:${shown}` }
}

/** Why a stored state cannot be restored into `wanted`, or null when it can. */
export function incompatibility(stored: StateShape, wanted: StateShape): string | null {
  if (stored.kind !== wanted.kind) return `it was stored as ${stored.kind} state and is now asked for as ${wanted.kind} state`
  if (stored.typeName !== null || wanted.typeName !== null) {
    if (stored.typeName !== wanted.typeName) return `its type was '${stored.typeName ?? 'not named'}' and is now '${wanted.typeName ?? 'not named'}'`
    return null
  }
  const [storedSerializer, storedShown] = split(stored.serializer)
  const [wantedSerializer, wantedShown] = split(wanted.serializer)
  if (storedSerializer !== wantedSerializer) return `it was written by serializer ${storedSerializer}, and this Weir uses ${wantedSerializer}`
  if (storedShown !== '?' && wantedShown !== '?' && storedShown !== wantedShown) return `its default value was of type ${storedShown} and is now of type ${wantedShown}`
  return null
}

function split(serializer: string): [string, string] {
  const i = serializer.lastIndexOf(':')
  return i < 0 ? [serializer, '?'] : [serializer.slice(0, i), serializer.slice(i + 1)]
}

/**
 * The keyed states of one task: those restored (from the checkpoint) and those registered by
 * the operators (on open). Registration checks a restored state's shape; a snapshot records
 * every shape that the state it writes holds.
 */
export class StateShapeRegistry {
  private readonly restored = new Map<string, Map<string, StateShape>>()
  private readonly registered = new Map<string, Map<string, StateShape>>()

  /** Shapes found in the checkpoint for operator `uid`. */
  addRestored(uid: string, shapes: readonly StateShape[]): void {
    const m = this.restored.get(uid) ?? new Map<string, StateShape>()
    for (const s of shapes) m.set(s.name, s)
    this.restored.set(uid, m)
  }

  /**
   * An operator asks for a state. Refuses a restored state of another shape, naming operator
   * and state, unless the descriptor declares a migration from the stored type; returns the
   * stored shape when the caller must migrate the restored values (the first time only), else null.
   */
  register(uid: string, operatorName: string, descriptor: StateDescriptor): StateShape | null {
    const wanted = shapeOf(descriptor)
    const m = this.registered.get(uid) ?? new Map<string, StateShape>()
    const again = m.has(wanted.name)
    m.set(wanted.name, wanted)
    this.registered.set(uid, m)
    const stored = this.restored.get(uid)?.get(wanted.name)
    if (!stored) return null
    const why = incompatibility(stored, wanted)
    if (why === null) return null
    const migration = descriptor.migration
    if (migration && stored.kind === wanted.kind && migration.fromTypeName === (stored.typeName ?? stored.serializer)) return again ? null : stored
    throw new UserError('WEIR_RESTORE_FAILED', `cannot restore state '${wanted.name}' of operator '${operatorName}' (uid ${uid}): ${why}. The checkpoint belongs to a job whose state has another shape; resume from a matching checkpoint, give the state a new name, or declare the change with descriptor.withTypeName(...) and .withMigration('${stored.typeName ?? stored.serializer}', convert)`)
  }

  /** Every shape of operator `uid`'s state: registered now, or restored and carried along. */
  shapesOf(uid: string): StateShape[] {
    const all = new Map(this.restored.get(uid) ?? [])
    for (const [name, s] of this.registered.get(uid) ?? []) all.set(name, s)
    return [...all.values()]
  }
}
