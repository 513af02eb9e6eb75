// s3://bucket/prefix locations and the S3 client Weir's options describe (Flink's s3.endpoint,
// s3.access-key, s3.secret-key, s3.path.style.access).

import type * as S3 from '@aws-sdk/client-s3'
import type { S3Client } from '@aws-sdk/client-s3'
import { lazyPackage } from '../../../io/lazy-package.ts'
import type { Configuration } from '../../../config/configuration.ts'
import { S3_ACCESS_KEY, S3_ENDPOINT, S3_PATH_STYLE_ACCESS, S3_REGION, S3_SECRET_KEY } from '../../../config/options.ts'
import { UserError } from '../../../errors.ts'

export interface S3Location {
  readonly bucket: string
  /** Key prefix without leading or trailing '/'; '' for the bucket's root. */
  readonly prefix: string
}

export interface S3Settings {
  readonly endpoint: string | null
  readonly accessKey: string | null
  readonly secretKey: string | null
  readonly pathStyle: boolean
  readonly region: string
}

export function isS3Url(path: string | null | undefined): path is string {
  return typeof path === 'string' && /^s3a?:\/\//.test(path)
}

export function parseS3Url(url: string): S3Location {
  const m = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(url)
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]!)) throw new UserError('WEIR_INVALID_CONFIG', `'${url}' is not an s3://bucket/prefix location with a valid bucket name`)
  return { bucket: m[1]!, prefix: m[2]!.replace(/^\/+|\/+$/g, '') }
}

export function s3Url(location: S3Location, ...parts: string[]): string {
  return `s3://${location.bucket}/${joinKey(location.prefix, ...parts)}`
}

export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/')
}

export function s3Settings(config: Configuration): S3Settings {
  return {
    endpoint: config.get(S3_ENDPOINT), accessKey: config.get(S3_ACCESS_KEY), secretKey: config.get(S3_SECRET_KEY),
    pathStyle: config.get(S3_PATH_STYLE_ACCESS), region: config.get(S3_REGION) ?? 'us-east-1',
  }
}

/** The S3 client package, loaded when a job first uses S3 (lazy-package.ts). */
export const s3Package = lazyPackage<typeof S3>('@aws-sdk/client-s3')

export function createS3Client(settings: S3Settings): S3Client {
  if ((settings.accessKey === null) !== (settings.secretKey === null)) throw new UserError('WEIR_INVALID_CONFIG', 's3.access-key and s3.secret-key go together: set both or neither')
  return new (s3Package().S3Client)({
    region: settings.region,
    // Checksums only where S3 requires them: state files carry their own CRC-32 (file-format.ts).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    forcePathStyle: settings.pathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.accessKey !== null ? { credentials: { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey! } } : {}),
  })
}
