import type { FromSchema } from 'json-schema-to-ts'
import type { configSchema } from './schema.js'

/** A configuration file as YAML gives it (snake_case keys), typed from {@link configSchema}: the schema is the only statement of its shape. */
export type RawConfig = FromSchema<typeof configSchema>

/** One tenant's entry in the file (`null` for a key with no value: all defaults). */
export type RawTenant = NonNullable<RawConfig['tenants'][string]>

/** The `certificates.acme` section. */
export type RawAcme = NonNullable<NonNullable<RawConfig['certificates']>['acme']>

/** The `check` section. */
export type RawCheck = NonNullable<RawConfig['check']>

/** The `reports` section. */
export type RawReports = NonNullable<RawConfig['reports']>

/** The `stats` section. */
export type RawStats = NonNullable<RawConfig['stats']>

/** The `ui` section. */
export type RawUi = NonNullable<RawConfig['ui']>
