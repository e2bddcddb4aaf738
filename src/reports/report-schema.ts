import { Ajv } from 'ajv'
import type { FromSchema } from 'json-schema-to-ts'
import { parseReportDateTime } from './report-date-time.js'

/** Session counts: JSON numbers that are whole, non-negative and exact in a double. */
const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const
/** Optional text that some senders write as `null` instead of leaving the key out. */
const optionalText = { type: ['string', 'null'] } as const
/** `mx-host` is an array in RFC 8460's definition, a string in its example and in some reports. */
const hostList = { type: ['string', 'array', 'null'], items: { type: 'string' } } as const
const dateTime = { type: 'string', format: 'report-date-time' } as const

/**
 * JSON schema (draft-07) of an RFC 8460 TLS report as senders really write
 * it. Lenient where real reports deviate: `mx-host` (or the erratum's
 * `mx-host-pattern`) and `policy-string` as a string or an array,
 * `contact-info` and optional details null or missing, empty arrays, any
 * `policy-type` and `result-type`, a missing `total-failure-session-count`,
 * extra keys anywhere. Strict where the data would be wrong: the top level is
 * an object, `policies` an array, counts non-negative safe integers,
 * date-times real instants ({@link parseReportDateTime}). Normalisation and
 * notes about what was tolerated are `parseReport`'s.
 */
export const reportSchema = {
  type: 'object',
  required: ['organization-name', 'date-range', 'report-id', 'policies'],
  properties: {
    'organization-name': { type: 'string', minLength: 1 },
    'date-range': {
      type: 'object',
      required: ['start-datetime', 'end-datetime'],
      properties: { 'start-datetime': dateTime, 'end-datetime': dateTime },
    },
    'contact-info': optionalText,
    'report-id': { type: 'string', minLength: 1 },
    policies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['policy', 'summary'],
        properties: {
          policy: {
            type: 'object',
            required: ['policy-type'],
            properties: {
              'policy-type': { type: 'string', minLength: 1 },
              'policy-string': { type: ['string', 'array', 'null'], items: { type: 'string' } },
              'policy-domain': optionalText,
              'mx-host': hostList,
              'mx-host-pattern': hostList,
            },
          },
          summary: {
            type: 'object',
            required: ['total-successful-session-count'],
            properties: { 'total-successful-session-count': count, 'total-failure-session-count': count },
          },
          'failure-details': {
            type: 'array',
            items: {
              type: 'object',
              required: ['result-type', 'failed-session-count'],
              properties: {
                'result-type': { type: 'string', minLength: 1 },
                'sending-mta-ip': optionalText,
                'receiving-mx-hostname': optionalText,
                'receiving-mx-helo': optionalText,
                'receiving-ip': optionalText,
                'failed-session-count': count,
                'additional-information': optionalText,
                'failure-reason-code': optionalText,
              },
            },
          },
        },
      },
    },
  },
} as const

/** A report as it passed {@link reportSchema}: raw keys, before normalisation. */
export type RawReport = FromSchema<typeof reportSchema>

const ajv = new Ajv({
  allErrors: true,
  verbose: true,
  allowUnionTypes: true,
  strict: true,
  formats: { 'report-date-time': (text: string) => parseReportDateTime(text) !== undefined },
})

/** {@link reportSchema}, compiled; its `errors` describe the last failed call. */
export const validateReport = ajv.compile<RawReport>(reportSchema)
