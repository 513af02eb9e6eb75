// Time for components whose decisions depend on it (the checkpoint coordinator), so that tests
// can drive them with simulated time instead of waiting.

export interface Clock {
  now(): number
  setTimer(callback: () => void, delayMs: number): unknown
  clearTimer(handle: unknown): void
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const t = setTimeout(callback, delayMs)
    t.unref?.()
    return t
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}
