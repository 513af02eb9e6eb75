// HighAvailabilityServices in a directory (high-availability.storageDir): one folder per job
// with its submission, its artifact and its latest checkpoint pointer. Every file is written
// to a temporary name and renamed, so a reader sees the old or the new content, never half.

import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { ensureDir } from '../../../io/directories.ts'
import { join } from 'node:path'
import type { CheckpointPointer, HighAvailabilityServices, JobSubmission } from './high-availability.ts'

export class FileHaServices implements HighAvailabilityServices {
  constructor(private readonly dir: string) {}

  private jobDir(jobId: string): string {
    if (!/^[0-9a-f]{32}$/.test(jobId)) throw new Error(`not a job id: '${jobId}'`)
    return join(this.dir, 'jobs', jobId)
  }

  async putJob(submission: JobSubmission, artifact: Uint8Array): Promise<void> {
    const dir = this.jobDir(submission.jobId)
    await ensureDir(dir)
    await atomicWrite(join(dir, 'artifact.mjs'), artifact)
    await atomicWrite(join(dir, 'submission.json'), JSON.stringify(submission))
  }
  async getJob(jobId: string): Promise<JobSubmission | null> {
    return readJson<JobSubmission>(join(this.jobDir(jobId), 'submission.json'))
  }
  async getArtifact(jobId: string): Promise<Uint8Array | null> {
    try {
      return await readFile(join(this.jobDir(jobId), 'artifact.mjs'))
    } catch {
      return null
    }
  }
  async listJobs(): Promise<JobSubmission[]> {
    let ids: string[]
    try {
      ids = await readdir(join(this.dir, 'jobs'))
    } catch {
      return []
    }
    const jobs: JobSubmission[] = []
    for (const id of ids) {
      const j = /^[0-9a-f]{32}$/.test(id) ? await this.getJob(id) : null
      if (j) jobs.push(j)
    }
    return jobs.sort((a, b) => a.submittedAt - b.submittedAt)
  }
  async removeJob(jobId: string): Promise<void> {
    await rm(this.jobDir(jobId), { recursive: true, force: true })
  }
  async setLatestCheckpoint(jobId: string, pointer: CheckpointPointer): Promise<void> {
    await ensureDir(this.jobDir(jobId))
    await atomicWrite(join(this.jobDir(jobId), 'latest-checkpoint.json'), JSON.stringify(pointer))
  }
  async getLatestCheckpoint(jobId: string): Promise<CheckpointPointer | null> {
    return readJson<CheckpointPointer>(join(this.jobDir(jobId), 'latest-checkpoint.json'))
  }
}

async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, path)
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch {
    return null
  }
}
