import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../errors.js'
import { safeKeyPart } from '../store/keys.js'
import type { IssuedCertificate, Issuer } from './issuer.js'

/** Paths of one host's PEM files. */
export interface PemPaths {
  readonly cert: string
  readonly key: string
}

/**
 * Serves certificates the operator manages: per tenant `certificate: {cert,
 * key}` in the YAML, else `<directory>/<host>/fullchain.pem` and `privkey.pem`
 * (the layout certbot's `live/` folder uses). Files are read on demand and
 * re-read when their modification time, size or inode changes.
 */
export class FilesIssuer implements Issuer {
  readonly name = 'files'
  readonly mode = 'files'
  readonly #paths: (host: string) => PemPaths | undefined

  /** `paths` maps a policy host to its files, from the current configuration. */
  constructor (paths: (host: string) => PemPaths | undefined) {
    this.#paths = paths
  }

  /** Resolve a host's files from a tenant's `certificate` or the directory convention. */
  static pathsFor (host: string, tenantFiles: PemPaths | undefined, directory: string | undefined): PemPaths | undefined {
    if (tenantFiles) return tenantFiles
    if (directory === undefined) return undefined
    const folder = join(directory, safeKeyPart(host))
    return { cert: join(folder, 'fullchain.pem'), key: join(folder, 'privkey.pem') }
  }

  async obtain (host: string): Promise<IssuedCertificate> {
    const paths = this.#require(host)
    const [certPem, keyPem] = await Promise.all([readFile(paths.cert, 'utf8'), readFile(paths.key, 'utf8')])
    return { certPem, keyPem }
  }

  async version (host: string): Promise<string> {
    const paths = this.#require(host)
    const stats = await Promise.all([stat(paths.cert), stat(paths.key)])
    return stats.map(s => `${s.ino}:${s.size}:${s.mtimeMs}`).join('/')
  }

  #require (host: string): PemPaths {
    const paths = this.#paths(host)
    if (!paths) throw new errors.CERT_FILES_NOT_CONFIGURED(host)
    return paths
  }
}
