import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import {
  METADATA_FILE, checkpointDir, jobDir, metadataPath, parseCheckpointDirName, savepointDirName, sharedDir, taskOwnedDir, taskStateFile,
} from '../../../src/checkpoint/protocol/paths.ts'

test('checkpoint paths follow the <job-id>/chk-<n>/_metadata layout', () => {
  assert.equal(jobDir('/base', 'abc'), join('/base', 'abc'))
  assert.equal(checkpointDir('/base', 'abc', 12), join('/base', 'abc', 'chk-12'))
  assert.equal(METADATA_FILE, '_metadata')
  assert.equal(metadataPath(join('/base', 'abc', 'chk-12')), join('/base', 'abc', 'chk-12', '_metadata'))
  assert.equal(sharedDir('/base', 'abc'), join('/base', 'abc', 'shared'))
  assert.equal(taskOwnedDir('/base', 'abc'), join('/base', 'abc', 'taskowned'))
})

test('a task state file names its vertex, subtask and attempt inside the checkpoint directory', () => {
  assert.equal(taskStateFile('/d/chk-3', 2, 1, 0), join('/d/chk-3', 'task-2-1-0.state'))
})

test('a savepoint directory name carries the first six characters of the job id', () => {
  assert.equal(savepointDirName('0123456789abcdef', 'x1y2'), 'savepoint-012345-x1y2')
})

test('chk-<n> directory names parse to their id and anything else to null', () => {
  assert.equal(parseCheckpointDirName('chk-0'), 0)
  assert.equal(parseCheckpointDirName('chk-42'), 42)
  assert.equal(parseCheckpointDirName(`chk-${parseCheckpointDirName('chk-7')}`), 7)
  for (const name of ['chk-', 'chk-1a', 'xchk-1', 'chk--1', 'shared', 'taskowned', 'chk-1/']) assert.equal(parseCheckpointDirName(name), null, name)
})
