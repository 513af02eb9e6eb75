// Deadlines for tests that wait for a condition. A deadline only turns a hung test into a
// failure; it is not a performance bound. On a loaded machine (two test suites, or a suite and
// a benchmark, on two cores) starting a job's slots alone can take tens of seconds, so the
// deadlines are generous; a test that is fine never waits for them.

/** The longest a test waits for one condition (output, a connection, a state). */
export const WAIT_MS = 120_000

/** A test's own timeout: a few waits, and then some. */
export const TEST_TIMEOUT_MS = 300_000
