// HighAvailabilityServices kept in this process's memory: for the embedded mini cluster, where
// the JobManager lives and dies with the job, and for tests.

import type { CheckpointPointer, HighAvailabilityServices, JobSubmission } from './high-availability.ts'

export class MemoryHaServices implements HighAvailabilityServices {
  private readonly jobs = new Map<string, { submission: JobSubmission; artifact: Uint8Array; latest: CheckpointPointer | null }>()

  async putJob(submission: JobSubmission, artifact: Uint8Array): Promise<void> {
    this.jobs.set(submission.jobId, { submission, artifact, latest: this.jobs.get(submission.jobId)?.latest ?? null })
  }
  async getJob(jobId: string): Promise<JobSubmission | null> {
    return this.jobs.get(jobId)?.submission ?? null
  }
  async getArtifact(jobId: string): Promise<Uint8Array | null> {
    return this.jobs.get(jobId)?.artifact ?? null
  }
  async listJobs(): Promise<JobSubmission[]> {
    return [...this.jobs.values()].map((j) => j.submission).sort((a, b) => a.submittedAt - b.submittedAt)
  }
  async removeJob(jobId: string): Promise<void> {
    this.jobs.delete(jobId)
  }
  async setLatestCheckpoint(jobId: string, pointer: CheckpointPointer): Promise<void> {
    const j = this.jobs.get(jobId)
    if (j) j.latest = pointer
  }
  async getLatestCheckpoint(jobId: string): Promise<CheckpointPointer | null> {
    return this.jobs.get(jobId)?.latest ?? null
  }
}
