// Names of the sink's prepared transactions: `weir:<job>:<operator uid>:<subtask>:<checkpoint>`,
// so that a restarted job finds the ones it left behind (job name and uid are stable across
// runs) and knows which subtask and checkpoint each belongs to. One job per name per database:
// two running jobs of the same name and uid would roll back each other's transactions.

/** Keeps names inside PostgreSQL's 200-byte gid and free of the separator. */
function part(s: string, max: number): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, max)
}

export interface SinkIdentity {
  readonly job: string
  readonly operator: string
}

export function sinkIdentity(jobName: string, operatorUid: string): SinkIdentity {
  return { job: part(jobName, 80), operator: part(operatorUid, 80) }
}

/** Every transaction id of this sink starts with this. */
export function transactionPrefix(id: SinkIdentity): string {
  return `weir:${id.job}:${id.operator}:`
}

export function transactionId(id: SinkIdentity, subtask: number, checkpointId: number): string {
  return `${transactionPrefix(id)}${subtask}:${checkpointId}`
}

/** The subtask and checkpoint of one of this sink's transaction ids, or null for someone else's. */
export function parseTransactionId(id: SinkIdentity, gid: string): { subtask: number; checkpointId: number } | null {
  const prefix = transactionPrefix(id)
  if (!gid.startsWith(prefix)) return null
  const m = /^(\d+):(\d+)$/.exec(gid.slice(prefix.length))
  return m ? { subtask: Number(m[1]), checkpointId: Number(m[2]) } : null
}
