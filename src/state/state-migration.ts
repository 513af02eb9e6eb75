// Restore-time migration of keyed state: a descriptor's withMigration converts every value the
// checkpoint holds for it (value, list and map state).

import type { ListState, MapState, StateDescriptor, ValueState } from '../api/state.ts'
import type { KeyedStateBackend } from './keyed-state-backend.ts'
import { UserError } from '../errors.ts'

/** Converts every restored value of a state whose descriptor declared a migration (value, list, map). */
export function migrateRestored(backend: KeyedStateBackend, descriptor: StateDescriptor, state: unknown): void {
  const convert = descriptor.migration!.convert
  const saved = backend.currentKey
  for (const key of [...backend.keys(descriptor.name)]) {
    backend.setCurrentKey(key)
    if (descriptor.kind === 'value') {
      const s = state as ValueState<unknown>
      s.update(convert(s.value()))
    } else if (descriptor.kind === 'list') {
      const s = state as ListState<unknown>
      s.update(s.get().map(convert))
    } else if (descriptor.kind === 'map') {
      const s = state as MapState<unknown, unknown>
      for (const [k, v] of [...s.entries()]) s.put(k, convert(v))
    } else {
      throw new UserError('WEIR_INVALID_JOB', `state '${descriptor.name}': withMigration works for value, list and map state, not ${descriptor.kind} state`)
    }
  }
  backend.setCurrentKey(saved)
}
