import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import t from 'tap'
import { CONFIG_DEFAULTS } from '../../src/config/defaults.js'
import { formatProblem, loadConfig, parseConfig, type ConfigResult } from '../../src/config/load-config.js'
import { DEFAULT_LIMITS } from '../../src/config/config-limits.js'
import { configSchema } from '../../src/config/schema.js'
import type { Config, ConfigProblem, Tenant } from '../../src/config/types.js'
import { renderPolicy } from '../../src/policy/render-policy.js'
import { tempDir } from '../helpers/fixtures.js'

const FILE = '/etc/mta-sts/config.yaml'
const ISSUER_WARNING = 'certificates.issuer is not set: using the internal CA, which mail senders do not trust (set issuer: acme (or files) for production)'
const NO_ISSUER = `1:1: ${ISSUER_WARNING}`

/** `line:column: message (hint)` without the file name, for compact tables. */
function short (p: ConfigProblem): string {
  const full = formatProblem(p)
  if (p.file !== FILE) throw new Error(`problem names ${p.file}`)
  return full.slice(FILE.length + 1)
}

function errorsOf (result: ConfigResult): string[] {
  if (result.ok) throw new Error('expected the configuration to be rejected')
  return result.errors.map(short)
}

function warningsOf (result: ConfigResult): string[] {
  return (result.ok ? result.config.warnings : result.warnings).map(short)
}

function ok (result: ConfigResult): Config {
  if (!result.ok) throw new Error(`expected a valid configuration, got ${result.errors.map(formatProblem).join('; ')}`)
  return result.config
}

const MX = '    mx: [mx.example.com]\n'

/** Malformed configurations: YAML text, then every expected error as `line:column: message (hint)`. */
const malformed: { name: string; yaml: string; errors: string[] }[] = [
  {
    name: 'unknown key with a near miss',
    yaml: 'listen:\n  https:\n    prot: 8443\ntenants:\n  example.com:\n' + MX,
    errors: ['3:5: unknown key "prot" in listen.https (did you mean "port"?)'],
  },
  {
    name: 'unknown top-level key with a near miss',
    yaml: 'tenant:\n  example.com: {}\ntenants:\n  example.com:\n' + MX,
    errors: ['1:1: unknown key "tenant" in the configuration (did you mean "tenants"?)'],
  },
  {
    name: 'unknown top-level key without a near miss lists the allowed keys',
    yaml: 'tenants:\n  example.com:\n' + MX + 'colour: blue\n',
    errors: ['4:1: unknown key "colour" in the configuration (allowed keys: listen, log, certificates, check, dns, limits, reports, database, stats, ui, defaults, tenants)'],
  },
  {
    name: 'unknown tenant key',
    yaml: 'tenants:\n  example.com:\n    mdoe: enforce\n' + MX,
    errors: ['3:5: unknown key "mdoe" in tenants."example.com" (did you mean "mode"?)'],
  },
  {
    name: 'bad mode with a suggestion',
    yaml: 'tenants:\n  example.com:\n    mode: enforcing\n' + MX,
    errors: ['3:11: tenants."example.com".mode must be one of enforce, testing, none (got "enforcing") (did you mean "enforce"?)'],
  },
  {
    name: 'mode that is not a string gets no suggestion',
    yaml: 'tenants:\n  example.com:\n    mode: 3\n' + MX,
    errors: ['3:11: tenants."example.com".mode must be one of enforce, testing, none (got 3)'],
  },
  {
    name: 'bad defaults.mode',
    yaml: 'defaults:\n  mode: testng\n  mx: [mx.example.com]\ntenants:\n  example.com:\n',
    errors: ['2:9: defaults.mode must be one of enforce, testing, none (got "testng") (did you mean "testing"?)'],
  },
  {
    name: 'max_age out of range',
    yaml: 'tenants:\n  example.com:\n    max_age: 99999999\n' + MX,
    errors: ['3:14: tenants."example.com".max_age must be between 0 and 31557600 (got 99999999) (max_age is in seconds: 86400 is one day, 604800 one week)'],
  },
  {
    name: 'negative max_age',
    yaml: 'tenants:\n  example.com:\n    max_age: -5\n' + MX,
    errors: ['3:14: tenants."example.com".max_age must be between 0 and 31557600 (got -5) (max_age is in seconds: 86400 is one day, 604800 one week)'],
  },
  {
    name: 'non-integer max_age',
    yaml: 'tenants:\n  example.com:\n    max_age: 1.5\n' + MX,
    errors: ['3:14: tenants."example.com".max_age must be an integer'],
  },
  {
    name: 'max_age given as a quoted string',
    yaml: 'tenants:\n  example.com:\n    max_age: "86400"\n' + MX,
    errors: ['3:14: tenants."example.com".max_age must be an integer'],
  },
  {
    name: 'mx as a string instead of a list',
    yaml: 'tenants:\n  example.com:\n    mx: mx.example.com\n',
    errors: ['3:9: tenants."example.com".mx must be a list (write a list, e.g. mx: [value] or one "- value" per line)'],
  },
  {
    name: 'empty mx list',
    yaml: 'tenants:\n  example.com:\n    mx: []\n',
    errors: ['3:9: tenants."example.com".mx must not be empty (list at least one MX host pattern, even for mode none)'],
  },
  {
    name: 'mx item that is not a string',
    yaml: 'tenants:\n  example.com:\n    mx: [1]\n',
    errors: ['3:10: tenants."example.com".mx[0] must be a string'],
  },
  {
    name: 'mx item that is an empty string',
    yaml: 'tenants:\n  example.com:\n    mx: [""]\n',
    errors: ['3:10: tenants."example.com".mx[0] must not be empty', '3:10: tenants."example.com".mx pattern "" is empty'],
  },
  {
    name: 'invalid mx patterns, one error each',
    yaml: 'tenants:\n  example.com:\n    mx:\n      - a.*.b.net\n      - "**.x.com"\n      - "*example.com"\n      - mx_1.example.com\n      - "*."\n      - "*.com"\n',
    errors: [
      '4:9: tenants."example.com".mx pattern "a.*.b.net" may only use a wildcard as the whole left-most label ("*.example.net")',
      '5:9: tenants."example.com".mx pattern "**.x.com" may only use a wildcard as the whole left-most label ("*.example.net")',
      '6:9: tenants."example.com".mx pattern "*example.com" may only use a wildcard as the whole left-most label ("*.example.net")',
      '7:9: tenants."example.com".mx pattern "mx_1.example.com" has an invalid label "mx_1" (letters, digits and inner hyphens only)',
      '8:9: tenants."example.com".mx pattern "*." is empty',
      '9:9: tenants."example.com".mx pattern "*.com" needs at least two labels (like example.com)',
    ],
  },
  {
    name: 'invalid defaults.mx pattern',
    yaml: 'defaults:\n  mx: ["*"]\ntenants:\n  example.com:\n' + MX,
    errors: ['2:8: defaults.mx pattern "*" may only use a wildcard as the whole left-most label ("*.example.net")'],
  },
  {
    name: 'duplicate tenants after case and trailing-dot normalisation',
    yaml: 'tenants:\n  Example.COM.:\n' + MX + '  example.com:\n' + MX,
    errors: ['4:3: tenant "example.com" duplicates "Example.COM." (both are example.com) (first defined at line 2)'],
  },
  {
    name: 'duplicate tenants: Unicode and punycode',
    yaml: 'tenants:\n  bücher.example:\n' + MX + '  xn--bcher-kva.example:\n' + MX,
    errors: ['4:3: tenant "xn--bcher-kva.example" duplicates "bücher.example" (both are xn--bcher-kva.example) (first defined at line 2)'],
  },
  {
    name: 'three spellings of one tenant all point at the first',
    yaml: 'tenants:\n  example.com:\n' + MX + '  EXAMPLE.com:\n' + MX + '  example.com.:\n' + MX,
    errors: [
      '4:3: tenant "EXAMPLE.com" duplicates "example.com" (both are example.com) (first defined at line 2)',
      '6:3: tenant "example.com." duplicates "example.com" (both are example.com) (first defined at line 2)',
    ],
  },
  {
    name: 'YAML syntax error: unclosed quote',
    yaml: 'tenants:\n  example.com:\n    mx: ["mx.example.com]\n',
    errors: [
      '4:1: YAML syntax error: Missing closing "quote',
      '4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
  {
    name: 'YAML syntax error: nested compact mapping',
    yaml: 'tenants: example.com: {}\n',
    errors: ['1:10: YAML syntax error: Nested mappings are not allowed in compact mappings'],
  },
  {
    name: 'YAML syntax error: tab indentation',
    yaml: 'tenants:\n\texample.com: {}\n',
    errors: ['2:1: YAML syntax error: Tabs are not allowed as indentation'],
  },
  {
    name: 'YAML with two documents',
    yaml: 'tenants: {example.com: {mx: [mx.example.com]}}\n---\nx: 1\n',
    errors: ['2:1: YAML syntax error: Source contains multiple documents; please use YAML.parseAllDocuments()'],
  },
  {
    name: 'duplicate YAML keys',
    yaml: 'tenants:\n  example.com:\n    mx: [mx.example.com]\n    mx: [mx2.example.com]\n',
    errors: ['4:5: duplicate key (each key may appear once in a mapping)'],
  },
  {
    name: 'duplicate YAML tenant keys',
    yaml: 'tenants:\n  example.com: {mx: [a.example.com]}\n  example.com: {}\n',
    errors: ['3:3: duplicate key (each key may appear once in a mapping)'],
  },
  {
    name: 'duplicate keys at the top, in a mapping inside a list, and in a flow mapping',
    yaml: 'log: {level: info}\nlog: {level: info}\nstats:\n  senders:\n    - name: a\n      name: b\n      user_agent: x\ntenants: {example.com: {mx: [mx.example.com], mode: testing, mode: enforce}}\n',
    errors: [
      '2:1: duplicate key (each key may appear once in a mapping)',
      '6:7: duplicate key (each key may appear once in a mapping)',
      '8:62: duplicate key (each key may appear once in a mapping)',
    ],
  },
  {
    name: 'missing tenants key',
    yaml: 'defaults:\n  mode: testing\n',
    errors: ['1:1: the configuration is missing the required key "tenants"'],
  },
  {
    name: 'empty file',
    yaml: '',
    errors: ['1:1: the configuration is missing the required key "tenants"'],
  },
  {
    name: 'file with only a comment',
    yaml: '# nothing here\n',
    errors: ['1:1: the configuration is missing the required key "tenants"'],
  },
  {
    name: 'empty tenants map',
    yaml: 'tenants: {}\n',
    errors: ['1:10: tenants must not be empty (add at least one tenant domain)'],
  },
  {
    name: 'tenant with no mx and no defaults.mx',
    yaml: 'tenants:\n  example.com:\n',
    errors: ['2:3: tenant "example.com" has no mx patterns (add mx: [mx1.example.com] to the tenant, or defaults.mx for all tenants)'],
  },
  {
    name: 'tenant that is a scalar gets only the type error',
    yaml: 'tenants:\n  example.com: hello\n',
    errors: ['2:16: tenants."example.com" must be an object or null'],
  },
  {
    name: 'tenant that is a list gets only the type error',
    yaml: 'tenants:\n  example.com: [mx.example.com]\n',
    errors: ['2:16: tenants."example.com" must be an object or null'],
  },
  {
    name: 'tenant with an invalid domain that is a scalar',
    yaml: 'tenants:\n  "bad domain.com": hello\n',
    errors: [
      '2:3: tenant domain "bad domain.com" has invalid characters (" "): it must be a bare host name (no scheme, port, path or spaces)',
      '2:21: tenants."bad domain.com" must be an object or null',
    ],
  },
  {
    name: 'invalid tenant domain: space',
    yaml: 'tenants:\n  "exa mple.com":\n' + MX,
    errors: ['2:3: tenant domain "exa mple.com" has invalid characters (" "): it must be a bare host name (no scheme, port, path or spaces)'],
  },
  {
    name: 'invalid tenant domain: single label',
    yaml: 'tenants:\n  localhost:\n' + MX,
    errors: ['2:3: tenant domain "localhost" needs at least two labels (like example.com)'],
  },
  {
    name: 'invalid tenant domain: IP address',
    yaml: 'tenants:\n  192.0.2.1:\n' + MX,
    errors: ['2:3: tenant domain "192.0.2.1" looks like an IP address, not a domain'],
  },
  {
    name: 'invalid tenant domain: URL',
    yaml: 'tenants:\n  https://example.com:\n' + MX,
    errors: ['2:3: tenant domain "https://example.com" has invalid characters (":", "/"): it must be a bare host name (no scheme, port, path or spaces)'],
  },
  {
    name: 'tenant domain with a slash still locates its schema errors',
    yaml: 'tenants:\n  "a/b.com":\n    mode: bad\n' + MX,
    errors: [
      '2:3: tenant domain "a/b.com" has invalid characters ("/"): it must be a bare host name (no scheme, port, path or spaces)',
      '3:11: tenants."a/b.com".mode must be one of enforce, testing, none (got "bad")',
    ],
  },
  {
    name: 'an invalid tenant domain does not hide the errors in its body',
    yaml: 'tenants:\n  "bad domain.com":\n    mx: [a.*.b.net]\n',
    errors: [
      '2:3: tenant domain "bad domain.com" has invalid characters (" "): it must be a bare host name (no scheme, port, path or spaces)',
      '3:10: tenants."bad domain.com".mx pattern "a.*.b.net" may only use a wildcard as the whole left-most label ("*.example.net")',
    ],
  },
  {
    name: 'an invalid tenant domain without mx and defaults.mx',
    yaml: 'tenants:\n  localhost:\n',
    errors: [
      '2:3: tenant domain "localhost" needs at least two labels (like example.com)',
      '2:3: tenant "localhost" has no mx patterns (add mx: [mx1.example.com] to the tenant, or defaults.mx for all tenants)',
    ],
  },
  {
    name: 'an invalid tenant domain with issuer files still needs certificate files',
    yaml: 'certificates:\n  issuer: files\ntenants:\n  "a b.com":\n' + MX,
    errors: [
      '4:3: tenant domain "a b.com" has invalid characters (" "): it must be a bare host name (no scheme, port, path or spaces)',
      '4:3: tenant "a b.com" has no certificate files (add certificate: {cert, key} to the tenant or set certificates.files.directory)',
    ],
  },
  {
    name: 'tenant domain with a tilde still locates its schema errors',
    yaml: 'tenants:\n  "a~b.com":\n    mode: bad\n' + MX,
    errors: [
      '2:3: tenant domain "a~b.com" has an invalid label "a~b" (letters, digits and inner hyphens only)',
      '3:11: tenants."a~b.com".mode must be one of enforce, testing, none (got "bad")',
    ],
  },
  {
    name: 'bad rua: ftp scheme',
    yaml: 'tenants:\n  example.com:\n' + MX + '    rua: ["ftp://x.example.com"]\n',
    errors: ['4:11: tenants."example.com".rua[0] must be a mailto: address or an https:// URL (got "ftp://x.example.com") (e.g. mailto:tlsrpt@example.com)'],
  },
  {
    name: 'bad rua: plain address, and two addresses in one string',
    yaml: 'defaults:\n  rua:\n    - tlsrpt@example.com\n    - "mailto:a@example.com,mailto:b@example.com"\ntenants:\n  example.com:\n' + MX,
    errors: [
      '3:7: defaults.rua[0] must be a mailto: address or an https:// URL (got "tlsrpt@example.com") (e.g. mailto:tlsrpt@example.com)',
      '4:7: defaults.rua[1] must be a mailto: address or an https:// URL (got "mailto:a@example.com,mailto:b@example.com") (e.g. mailto:tlsrpt@example.com)',
    ],
  },
  {
    name: 'rua as a string',
    yaml: 'tenants:\n  example.com:\n' + MX + '    rua: mailto:tlsrpt@example.com\n',
    errors: ['4:10: tenants."example.com".rua must be a list (write a list, e.g. rua: [value] or one "- value" per line)'],
  },
  {
    name: 'wrong issuer with a suggestion',
    yaml: 'certificates:\n  issuer: intrnal\ntenants:\n  example.com:\n' + MX,
    errors: ['2:11: certificates.issuer must be one of acme, internal, files (got "intrnal") (did you mean "internal"?)'],
  },
  {
    name: 'wrong issuer without a suggestion',
    yaml: 'certificates:\n  issuer: letsencrypt\ntenants:\n  example.com:\n' + MX,
    errors: ['2:11: certificates.issuer must be one of acme, internal, files (got "letsencrypt")'],
  },
  {
    name: 'issuer acme without agreeing to the terms of service',
    yaml: 'certificates:\n  issuer: acme\n  acme:\n    email: a@example.com\ntenants:\n  example.com:\n' + MX,
    errors: ['4:5: the ACME issuer needs certificates.acme.terms_of_service_agreed: true (read the CA\'s terms of service (Let\'s Encrypt: https://letsencrypt.org/repository/), then agree explicitly)'],
  },
  {
    name: 'issuer acme with terms_of_service_agreed: false',
    yaml: 'certificates:\n  issuer: acme\n  acme:\n    terms_of_service_agreed: false\n    email: a@example.com\ntenants:\n  example.com:\n' + MX,
    errors: ['4:30: the ACME issuer needs certificates.acme.terms_of_service_agreed: true (read the CA\'s terms of service (Let\'s Encrypt: https://letsencrypt.org/repository/), then agree explicitly)'],
  },
  {
    name: 'issuer acme with acme settings that are not a mapping',
    yaml: 'certificates:\n  issuer: acme\n  acme: [x]\ntenants:\n  example.com:\n' + MX,
    errors: ['3:9: certificates.acme must be an object', '3:9: the ACME issuer needs certificates.acme.terms_of_service_agreed: true (read the CA\'s terms of service (Let\'s Encrypt: https://letsencrypt.org/repository/), then agree explicitly)'],
  },
  {
    name: 'acme settings out of their ranges',
    yaml: 'certificates:\n  acme: {challenges: [], key_type: ec, concurrency: 0, max_orders: 0, order_window: 59, eab: {kid: ""}, terms_of_service_agreed: "yes"}\ntenants:\n  example.com:\n' + MX,
    errors: [
      '2:22: certificates.acme.challenges must not be empty',
      '2:36: certificates.acme.key_type must be one of ecdsa-p256, rsa-2048 (got "ec")',
      '2:53: certificates.acme.concurrency must be between 1 and 16 (got 0)',
      '2:68: certificates.acme.max_orders must be between 1 and 10000 (got 0)',
      '2:85: certificates.acme.order_window must be between 60 and 604800 (got 59)',
      '2:94: certificates.acme.eab is missing the required key "hmac_key"',
      '2:100: certificates.acme.eab.kid must not be empty',
      '2:130: certificates.acme.terms_of_service_agreed must be a boolean',
    ],
  },
  {
    name: 'same port for two listeners',
    yaml: 'listen:\n  https: { port: 8443 }\n  http: { port: 8443 }\ntenants:\n  example.com:\n' + MX,
    errors: ['3:9: listen.http uses the same address as listen.https (:: port 8443)'],
  },
  {
    name: 'a listener on the default address of another',
    yaml: 'listen:\n  https: { host: 127.0.0.1, port: 9090 }\ntenants:\n  example.com:\n' + MX,
    errors: ['2:3: listen.ops uses the same address as listen.https (127.0.0.1 port 9090)'],
  },
  {
    name: 'port out of range and empty host',
    yaml: 'listen:\n  ops: { host: "", port: 70000 }\ntenants:\n  example.com:\n' + MX,
    errors: [
      '2:16: listen.ops.host must not be empty',
      '2:26: listen.ops.port must be between 0 and 65535 (got 70000)',
    ],
  },
  {
    name: 'ops on every address without a token',
    yaml: 'listen:\n  ops:\n    host: "0.0.0.0"\ntenants:\n  example.com:\n' + MX,
    errors: ['3:11: listen.ops.host 0.0.0.0 is not a loopback address, and the ops listener has no token (set listen.ops.token_file (a bearer token), or bind ops to 127.0.0.1)'],
  },
  {
    name: 'tenants given as a list',
    yaml: 'tenants:\n  - example.com\n  - example.org\n',
    errors: ['2:3: tenants must be an object'],
  },
  {
    name: 'document that is a scalar',
    yaml: 'just a string\n',
    errors: ['1:1: the configuration must be a mapping of keys (listen, certificates, defaults, tenants)'],
  },
  {
    name: 'document that is a list',
    yaml: '- tenants\n- example.com\n',
    errors: ['1:1: the configuration must be a mapping of keys (listen, certificates, defaults, tenants)'],
  },
  {
    name: 'document that is a scalar after blank lines is located where it stands',
    yaml: '\n\n42\n',
    errors: ['3:1: the configuration must be a mapping of keys (listen, certificates, defaults, tenants)'],
  },
  {
    name: 'document that is a list after a comment is located where it stands',
    yaml: '# config\n- tenants\n',
    errors: ['2:1: the configuration must be a mapping of keys (listen, certificates, defaults, tenants)'],
  },
  {
    name: 'document that is the number 0',
    yaml: '0\n',
    errors: ['1:1: the configuration must be a mapping of keys (listen, certificates, defaults, tenants)'],
  },
  {
    name: 'issuer files without certificate paths',
    yaml: 'certificates:\n  issuer: files\ntenants:\n  example.com:\n' + MX + '  example.org:\n' + MX,
    errors: [
      '4:3: tenant "example.com" has no certificate files (add certificate: {cert, key} to the tenant or set certificates.files.directory)',
      '6:3: tenant "example.org" has no certificate files (add certificate: {cert, key} to the tenant or set certificates.files.directory)',
    ],
  },
  {
    name: 'certificate without a key',
    yaml: 'certificates:\n  issuer: files\ntenants:\n  example.com:\n' + MX + '    certificate: { cert: a.pem }\n',
    errors: [
      '4:3: tenant "example.com" has no certificate files (add certificate: {cert, key} to the tenant or set certificates.files.directory)',
      '6:18: tenants."example.com".certificate is missing the required key "key"',
    ],
  },
  {
    name: 'invalid dns.target entries',
    yaml: 'dns:\n  target: ["bad host", "-x.example.com", 1.2.3]\ntenants:\n  example.com:\n' + MX,
    errors: [
      '2:12: dns.target "bad host" has invalid characters (" "): it must be a bare host name (no scheme, port, path or spaces) (use a host name (CNAME) or an IP address (A/AAAA))',
      '2:24: dns.target "-x.example.com" has an invalid label "-x" (letters, digits and inner hyphens only) (use a host name (CNAME) or an IP address (A/AAAA))',
      '2:42: dns.target "1.2.3" looks like an IP address, not a domain (use a host name (CNAME) or an IP address (A/AAAA))',
    ],
  },
  {
    name: 'dns.target: a host name beside an address',
    yaml: 'dns:\n  target: [policy.example.net, 192.0.2.1]\ntenants:\n  example.com:\n' + MX,
    errors: ['2:11: dns.target must be either one host name (published as a CNAME) or a list of IP addresses (A/AAAA) (a CNAME cannot stand beside other records)'],
  },
  {
    name: 'dns.target: an address before a host name',
    yaml: 'dns:\n  target: ["2001:db8::1", policy.example.net]\ntenants:\n  example.com:\n' + MX,
    errors: ['2:11: dns.target must be either one host name (published as a CNAME) or a list of IP addresses (A/AAAA) (a CNAME cannot stand beside other records)'],
  },
  {
    name: 'dns.target: two host names (block list)',
    yaml: 'dns:\n  target:\n    - a.example.net\n    - b.example.net\ntenants:\n  example.com:\n' + MX,
    errors: ['3:5: dns.target must be either one host name (published as a CNAME) or a list of IP addresses (A/AAAA) (a CNAME cannot stand beside other records)'],
  },
  {
    name: 'dns.target: one invalid host name beside an address',
    yaml: 'dns:\n  target: [192.0.2.1, "bad host"]\ntenants:\n  example.com:\n' + MX,
    errors: [
      '2:23: dns.target "bad host" has invalid characters (" "): it must be a bare host name (no scheme, port, path or spaces) (use a host name (CNAME) or an IP address (A/AAAA))',
    ],
  },
  {
    name: 'dns.target as a string',
    yaml: 'dns:\n  target: policy.example.net\ntenants:\n  example.com:\n' + MX,
    errors: ['2:11: dns.target must be a list (write a list, e.g. target: [value] or one "- value" per line)'],
  },
  {
    name: 'log level and leaf lifetime out of their ranges',
    yaml: 'log:\n  level: verbose\ncertificates:\n  internal:\n    leaf_lifetime: 10\ntenants:\n  example.com:\n' + MX,
    errors: [
      '2:10: log.level must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
      '5:20: certificates.internal.leaf_lifetime must be between 3600 and 31536000 (got 10)',
    ],
  },
  {
    name: 'alias to an undefined anchor is located at the alias',
    yaml: 'tenants: *nope\n',
    errors: ['1:10: YAML alias "*nope" names no anchor defined before it (define &nope earlier in the file, or quote the value if it is not an alias)'],
  },
  {
    name: 'alias error after comments is located at the alias',
    yaml: '# config\n\ntenants: *nope\n',
    errors: ['3:10: YAML alias "*nope" names no anchor defined before it (define &nope earlier in the file, or quote the value if it is not an alias)'],
  },
  {
    name: 'alias bomb: stopped at the alias that crosses the expansion limit, before conversion',
    yaml: 'a: &a [x, x, x, x, x, x, x, x, x, x]\n' +
      ['b', 'c', 'd', 'e', 'f', 'g'].map((n, i) => `${n}: &${n} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]\n`).join('') +
      'tenants: {example.com: {mx: [a.example.com]}}\n',
    errors: ['6:36: YAML aliases expand to 1012328 nodes up to here, over the limit of 1000000 (write a list shared by most tenants once, in defaults.mx, or raise limits.alias_nodes (now 1000000, default 1000000))'],
  },
  {
    name: 'alias bomb under a lower limits.alias_nodes',
    yaml: 'limits: {alias_nodes: 100}\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\ntenants: {example.com: {mx: [a.example.com]}}\n',
    errors: ['3:44: YAML aliases expand to 110 nodes up to here, over the limit of 100 (write a list shared by most tenants once, in defaults.mx, or raise limits.alias_nodes (now 100, default 1000000))'],
  },
  {
    name: 'an unquoted wildcard mx pattern is an alias: located at its own line, with a hint to quote it',
    yaml: '# comment\n# comment\n# comment\ntenants:\n  example.com:\n    mode: testing\n    mx: [*.*.example.com]\n  example.org:\n    mx:\n      - *.mx.example.net\n',
    errors: [
      '7:10: YAML alias "*.*.example.com" names no anchor defined before it (a value starting with * is read as an alias: quote it, e.g. "*.*.example.com")',
      '10:9: YAML alias "*.mx.example.net" names no anchor defined before it (a value starting with * is read as an alias: quote it, e.g. "*.mx.example.net")',
    ],
  },
  {
    name: 'an alias inside the node it repeats',
    yaml: 'tenants: &t\n  example.com: {mx: [mx.example.com]}\n  example.org: *t\n',
    errors: ['3:16: YAML alias "*t" stands inside the node it repeats (an endless value)'],
  },
  {
    name: 'an empty value is located at its key',
    yaml: 'tenants:\n  example.com:\n    mode:\n' + MX,
    errors: ['3:5: tenants."example.com".mode must be one of enforce, testing, none (got null)'],
  },
  {
    name: 'an empty value as the last line is located at its key',
    yaml: 'tenants:\n  example.com:\n' + MX + '    rua:',
    errors: ['4:5: tenants."example.com".rua must be a list (write a list, e.g. rua: [value] or one "- value" per line)'],
  },
  {
    name: 'rua with non-ASCII characters',
    yaml: 'tenants:\n  example.com:\n' + MX + '    rua: ["mailto:tlsrpt@bücher.example", "https://r.example.com/ü", "mailto:tlsrpt@example.com"]\n',
    errors: [
      '4:11: tenants."example.com".rua[0] must be a mailto: address or an https:// URL (got "mailto:tlsrpt@bücher.example") (e.g. mailto:tlsrpt@example.com)',
      '4:43: tenants."example.com".rua[1] must be a mailto: address or an https:// URL (got "https://r.example.com/ü") (e.g. mailto:tlsrpt@example.com)',
    ],
  },
  {
    name: 'rua with a character beyond the BMP',
    yaml: 'tenants:\n  example.com:\n' + MX + '    rua: ["mailto:r@\u{1F600}.example"]\n',
    errors: [
      '4:11: tenants."example.com".rua[0] must be a mailto: address or an https:// URL (got "mailto:r@\u{1F600}.example") (e.g. mailto:tlsrpt@example.com)',
    ],
  },
  {
    name: 'acme email, directory and EAB key with the wrong shape',
    yaml: 'certificates:\n  issuer: acme\n  acme:\n    terms_of_service_agreed: true\n    email: hostmaster\n    directory: http://ca.example/dir\n    eab: { kid: k1, hmac_key: "not base64!" }\ntenants:\n  example.com:\n' + MX,
    errors: [
      '5:12: certificates.acme.email must be an email address (got "hostmaster") (e.g. hostmaster@example.net)',
      '6:16: certificates.acme.directory must be letsencrypt, letsencrypt-staging or an https:// URL (got "http://ca.example/dir") (the CA\'s ACME directory URL)',
      '7:31: certificates.acme.eab.hmac_key must be base64url text (got "not base64!") (as the CA gave it for External Account Binding)',
    ],
  },
  {
    name: 'alias that resolves to a list where a map is required: located at the list it repeats',
    yaml: 'a: &a [x]\ntenants: *a\n',
    errors: [
      '1:1: unknown key "a" in the configuration (allowed keys: listen, log, certificates, check, dns, limits, reports, database, stats, ui, defaults, tenants)',
      '1:7: tenants must be an object',
    ],
  },
]

t.test('malformed configurations: exact messages and positions', async t => {
  t.ok(malformed.length >= 25, `${malformed.length} cases`)
  for (const c of malformed) {
    const result = parseConfig(c.yaml, FILE)
    t.equal(result.ok, false, `${c.name}: rejected`)
    if (result.ok) continue
    t.same(result.errors.map(short), c.errors, c.name)
  }
})

t.test('every error of a file is reported at once, sorted by line', async t => {
  const yaml = [
    'listen:',
    '  https: {prot: 8443}', // 2
    'certificates:',
    '  issuer: intrnal', // 4
    'defaults:',
    '  max_age: -1', // 6
    'tenants:',
    '  example.com:',
    '    mode: enforcing', // 9
    '    mx: mx.example.com', // 10
    '  "bad domain.com":', // 11
    '    mx: [a.*.b.net]', // 12
    '  Example.COM.:', // 13
    '    mx: [mx.example.com]',
    '    rua: [ftp://x.example.com]', // 15
    '  example.org:',
    '    max_age: 1.5', // 17
    '    mx: []', // 18
    'surprise: true', // 19
    '',
  ].join('\n')
  const errors = errorsOf(parseConfig(yaml, FILE))
  t.same(errors, [
    '2:11: unknown key "prot" in listen.https (did you mean "port"?)',
    '4:11: certificates.issuer must be one of acme, internal, files (got "intrnal") (did you mean "internal"?)',
    '6:12: defaults.max_age must be between 0 and 31557600 (got -1) (max_age is in seconds: 86400 is one day, 604800 one week)',
    '9:11: tenants."example.com".mode must be one of enforce, testing, none (got "enforcing") (did you mean "enforce"?)',
    '10:9: tenants."example.com".mx must be a list (write a list, e.g. mx: [value] or one "- value" per line)',
    '11:3: tenant domain "bad domain.com" has invalid characters (" "): it must be a bare host name (no scheme, port, path or spaces)',
    '12:10: tenants."bad domain.com".mx pattern "a.*.b.net" may only use a wildcard as the whole left-most label ("*.example.net")',
    '13:3: tenant "Example.COM." duplicates "example.com" (both are example.com) (first defined at line 8)',
    '15:11: tenants."Example.COM.".rua[0] must be a mailto: address or an https:// URL (got "ftp://x.example.com") (e.g. mailto:tlsrpt@example.com)',
    '17:14: tenants."example.org".max_age must be an integer',
    '18:9: tenants."example.org".mx must not be empty (list at least one MX host pattern, even for mode none)',
    '19:1: unknown key "surprise" in the configuration (allowed keys: listen, log, certificates, check, dns, limits, reports, database, stats, ui, defaults, tenants)',
  ])
  const lines = errors.map(e => Number(e.split(':')[0]))
  t.same(lines, [...lines].sort((a, b) => a - b), 'sorted by line')
})

t.test('problems on one line are sorted by column', async t => {
  const errors = errorsOf(parseConfig('tenants:\n  example.com:\n    mx: ["*.", "a_b.example.com", "x.*.y.com"]\n', FILE))
  t.same(errors.map(e => e.split(':').slice(0, 2).join(':')), ['3:10', '3:16', '3:35'])
})

t.test('warnings', async t => {
  t.test('max_age below one day, on the tenant and through defaults', async t => {
    const result = parseConfig('certificates:\n  issuer: internal\ndefaults:\n  max_age: 3600\n  mx: [mx.example.com]\ntenants:\n  example.com:\n  example.org:\n    max_age: 60\n', FILE)
    t.same(warningsOf(result), [
      '4:12: tenant "example.com" has max_age 3600, below one day (86400) (senders refetch the policy at most this often; use at least 86400)',
      '9:14: tenant "example.org" has max_age 60, below one day (86400) (senders refetch the policy at most this often; use at least 86400)',
    ])
    t.equal(result.ok, true, 'warnings alone do not reject')
  })
  t.test('enforce with max_age below one week', async t => {
    const result = parseConfig('certificates:\n  issuer: internal\ndefaults:\n  mode: enforce\n  max_age: 86400\n  mx: [mx.example.com]\ntenants:\n  example.com:\n  example.org:\n    max_age: 604799\n  example.net:\n    max_age: 604800\n  example.edu:\n    mode: testing\n', FILE)
    t.same(warningsOf(result), [
      '5:12: tenant "example.com" enforces with max_age 86400, below one week (604800) (RFC 8461 suggests weeks for enforce)',
      '10:14: tenant "example.org" enforces with max_age 604799, below one week (604800) (RFC 8461 suggests weeks for enforce)',
    ])
  })
  t.test('duplicate mx patterns are deduplicated after normalisation', async t => {
    const result = parseConfig('certificates:\n  issuer: internal\ntenants:\n  example.com:\n    mx: [mx.example.com, MX.Example.COM., "*.example.net", "*.EXAMPLE.net"]\n', FILE)
    t.same(warningsOf(result), [
      '5:26: tenants."example.com".mx lists "mx.example.com" twice; the duplicate is dropped',
      '5:60: tenants."example.com".mx lists "*.example.net" twice; the duplicate is dropped',
    ])
    t.same(ok(result).tenants[0]?.mx, ['mx.example.com', '*.example.net'])
  })
  t.test('duplicate defaults.mx is reported once, not per tenant', async t => {
    const result = parseConfig('certificates:\n  issuer: internal\ndefaults:\n  mx: [a.example.com, A.example.com.]\ntenants:\n  example.com:\n  example.org:\n', FILE)
    t.same(warningsOf(result), ['4:23: defaults.mx lists "a.example.com" twice; the duplicate is dropped'])
    t.same(ok(result).tenants.map(x => x.mx), [['a.example.com'], ['a.example.com']])
  })
  t.test('invalid max_age values are errors only, never also warnings', async t => {
    const result = parseConfig('certificates: {issuer: internal}\ndefaults:\n  mode: enforce\n  max_age: -5\n  mx: [mx.example.com]\ntenants:\n  example.com:\n  example.org:\n    max_age: 1.5\n  example.net:\n    max_age: "60"\n', FILE)
    t.same(errorsOf(result), [
      '4:12: defaults.max_age must be between 0 and 31557600 (got -5) (max_age is in seconds: 86400 is one day, 604800 one week)',
      '9:14: tenants."example.org".max_age must be an integer',
      '11:14: tenants."example.net".max_age must be an integer',
    ])
    t.same(warningsOf(result), [])
  })
  t.test('tenant starting with mta-sts.', async t => {
    const result = parseConfig('certificates:\n  issuer: internal\ntenants:\n  MTA-STS.example.com:\n' + MX, FILE)
    t.same(warningsOf(result), ['4:3: tenant "MTA-STS.example.com" starts with mta-sts.: tenants are mail domains, and the service answers on mta-sts.<tenant> (did you mean "example.com"?)'])
    t.equal(ok(result).tenants[0]?.domain, 'mta-sts.example.com')
  })
  t.test('tenant starting with mta-sts. that is also an invalid domain', async t => {
    const result = parseConfig('certificates:\n  issuer: internal\ntenants:\n  "mta-sts.bad domain.com":\n' + MX, FILE)
    t.same(errorsOf(result), ['4:3: tenant domain "mta-sts.bad domain.com" has invalid characters (" "): it must be a bare host name (no scheme, port, path or spaces)'])
    t.same(warningsOf(result), ['4:3: tenant "mta-sts.bad domain.com" starts with mta-sts.: tenants are mail domains, and the service answers on mta-sts.<tenant> (did you mean "bad domain.com"?)'])
  })
  t.test('missing issuer', async t => {
    t.same(warningsOf(parseConfig('tenants:\n  example.com:\n' + MX, FILE)), [NO_ISSUER])
    t.same(warningsOf(parseConfig('certificates:\n  storage: /tmp/x\ntenants:\n  example.com:\n' + MX, FILE)), [`2:3: ${ISSUER_WARNING}`], 'points into the certificates section when it exists')
  })
  t.test('the missing-issuer hint only recommends issuers the schema accepts', async t => {
    const [warning] = ok(parseConfig('tenants:\n  example.com:\n' + MX, FILE)).warnings
    const accepted: readonly string[] = configSchema.properties.certificates.properties.issuer.enum
    const named = [...(warning?.hint ?? '').matchAll(/\b(acme|internal|files|letsencrypt)\b/g)].map(m => m[1])
    t.ok(named.length > 0, `hint "${warning?.hint}" names an issuer`)
    for (const name of named) t.ok(accepted.includes(name as string), `hint names issuer ${name}, which the schema accepts`)
  })
  t.test('issuer acme without an email', async t => {
    const result = parseConfig('certificates:\n  issuer: acme\n  acme:\n    terms_of_service_agreed: true\ntenants:\n  example.com:\n' + MX, FILE)
    t.same(warningsOf(result), ['4:5: certificates.acme.email is not set: the CA cannot warn you about expiring certificates or account problems (set email: hostmaster@your-domain)'])
    t.equal(ok(result).certificates.issuer, 'acme')
    t.same(warningsOf(parseConfig('certificates:\n  issuer: acme\n  acme: {terms_of_service_agreed: true, email: a@example.com}\ntenants:\n  example.com:\n' + MX, FILE)), [])
    t.same(warningsOf(parseConfig('certificates:\n  issuer: acme\ntenants:\n  example.com:\n' + MX, FILE)),
      ['2:3: certificates.acme.email is not set: the CA cannot warn you about expiring certificates or account problems (set email: hostmaster@your-domain)'], 'also next to the terms-of-service error')
  })
  t.test('certificate files with the internal issuer are ignored, with a warning', async t => {
    const result = parseConfig('tenants:\n  example.com:\n' + MX + '    certificate: {cert: a.pem, key: b.pem}\n', FILE)
    t.same(warningsOf(result), [NO_ISSUER, '4:5: tenant "example.com" names certificate files, but the issuer is internal: they are ignored (set certificates.issuer: files)'])
  })
  t.test('warnings are returned next to errors', async t => {
    const result = parseConfig('defaults:\n  max_age: 60\ntenants:\n  example.com:\n    mode: bad\n' + MX, FILE)
    t.same(errorsOf(result), ['5:11: tenants."example.com".mode must be one of enforce, testing, none (got "bad")'])
    t.same(warningsOf(result), [NO_ISSUER, '2:12: tenant "example.com" has max_age 60, below one day (86400) (senders refetch the policy at most this often; use at least 86400)'])
  })
})

t.test('success path', async t => {
  t.test('normalises tenant names and mx patterns', async t => {
    const config = ok(parseConfig([
      'certificates:',
      '  issuer: internal',
      'tenants:',
      '  Example.COM.:',
      '    mx: [" MX1.Example.COM. ", "*.Bücher.Example", mx.bücher.example]',
      '  bücher.example:',
      '    mx: [mx.example.com]',
      '  xn--caf-dma.example:',
      '    mx: [mx.example.com]',
      '',
    ].join('\n'), FILE))
    t.same(config.tenants.map(x => [x.domain, x.host]), [
      ['example.com', 'mta-sts.example.com'],
      ['xn--bcher-kva.example', 'mta-sts.xn--bcher-kva.example'],
      ['xn--caf-dma.example', 'mta-sts.xn--caf-dma.example'],
    ])
    t.same(config.tenants[0]?.mx, ['mx1.example.com', '*.xn--bcher-kva.example', 'mx.xn--bcher-kva.example'])
    t.same(config.warnings, [])
  })

  t.test('applies built-in defaults', async t => {
    const config = ok(parseConfig('tenants:\n  example.com:\n' + MX, FILE))
    t.same(config.listen, { https: { host: '::', port: 443 }, http: { host: '::', port: 80 }, ops: { host: '127.0.0.1', port: 9090 } })
    t.same(config.log, { level: 'info' })
    t.same(config.certificates, {
      issuer: 'internal',
      storage: '/var/lib/mta-sts-host',
      contextCache: 1000,
      internal: { leafLifetime: 604800 },
      files: {},
      acme: {
        directory: 'https://acme-v02.api.letsencrypt.org/directory',
        termsOfServiceAgreed: false,
        challenges: ['tls-alpn-01', 'http-01'],
        keyType: 'ecdsa-p256',
        concurrency: 2,
        maxOrders: 250,
        orderWindow: 10800,
      },
    })
    t.notOk('email' in config.certificates.acme || 'eab' in config.certificates.acme || 'caFile' in config.certificates.acme, 'unset optional acme settings are absent')
    t.same(config.dns, { target: [] })
    t.same(config.tenants, [{ domain: 'example.com', host: 'mta-sts.example.com', mode: 'testing', mx: ['mx.example.com'], maxAge: 604800, rua: ['https://mta-sts.example.com/tlsrpt'] }])
    t.same(config.reports, {
      enabled: true,
      httpsPath: '/tlsrpt',
      database: '/var/lib/mta-sts-host/reports.sqlite',
      maxBodyBytes: 5 * 1024 * 1024,
      maxReportBytes: 32 * 1024 * 1024,
      maxRatio: 200,
      rateLimit: { max: 60, window: 60 },
      ingestRate: 25,
      rawRetentionDays: 90,
      retentionDays: 400,
      verdict: { days: 7, minOrganizations: 2, required: true },
    })
    t.equal(config.file, FILE)
    t.equal(CONFIG_DEFAULTS.defaults.mode, 'testing')
    t.ok(Object.isFrozen(CONFIG_DEFAULTS))
  })

  t.test('applies defaults.mode, max_age, mx and rua; tenant values win', async t => {
    const config = ok(parseConfig([
      'certificates: {issuer: internal}',
      'defaults:',
      '  mode: enforce',
      '  max_age: 1209600',
      '  mx: [mx.default.example]',
      '  rua: ["mailto:tls@default.example"]',
      'tenants:',
      '  example.com:',
      '  example.org:',
      '    mode: none',
      '    max_age: 86400',
      '    mx: [mx.example.org]',
      '    rua: ["https://report.example.org/tlsrpt"]',
      '  example.net:',
      '    rua: []',
      '',
    ].join('\n'), FILE))
    t.same(config.tenants, [
      { domain: 'example.com', host: 'mta-sts.example.com', mode: 'enforce', mx: ['mx.default.example'], maxAge: 1209600, rua: ['mailto:tls@default.example'] },
      { domain: 'example.org', host: 'mta-sts.example.org', mode: 'none', mx: ['mx.example.org'], maxAge: 86400, rua: ['https://report.example.org/tlsrpt'] },
      { domain: 'example.net', host: 'mta-sts.example.net', mode: 'enforce', mx: ['mx.default.example'], maxAge: 1209600, rua: [] },
    ])
  })

  t.test('listen, log and certificate settings are read', async t => {
    const config = ok(parseConfig([
      'listen:',
      '  https: {host: 127.0.0.1, port: 0}',
      '  http: {host: 127.0.0.1, port: 0}',
      '  ops: {port: 0}',
      'log: {level: debug}',
      'certificates:',
      '  issuer: internal',
      '  internal: {leaf_lifetime: 3600}',
      '  context_cache: 64',
      'dns:',
      '  target: [192.0.2.10, "2001:db8::1"]',
      'tenants:',
      '  example.com:',
      MX,
    ].join('\n'), FILE))
    t.same(config.listen, { https: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, ops: { host: '127.0.0.1', port: 0 } }, 'port 0 may repeat')
    t.equal(config.log.level, 'debug')
    t.equal(config.certificates.internal.leafLifetime, 3600)
    t.equal(config.certificates.contextCache, 64)
    t.same(config.dns.target, ['192.0.2.10', '2001:db8::1'], 'a list of addresses')
  })

  t.test('dns.target: one host name is normalised', async t => {
    t.same(ok(parseConfig('certificates: {issuer: internal}\ndns:\n  target: [Policy.Example.NET.]\ntenants:\n  example.com:\n' + MX, FILE)).dns.target, ['policy.example.net'])
    t.same(ok(parseConfig('certificates: {issuer: internal}\ndns:\n  target: [bücher.example]\ntenants:\n  example.com:\n' + MX, FILE)).dns.target, ['xn--bcher-kva.example'])
    t.same(ok(parseConfig('certificates: {issuer: internal}\ndns:\n  target: []\ntenants:\n  example.com:\n' + MX, FILE)).dns.target, [], 'an empty list is allowed')
  })

  t.test('acme settings are read; directory names resolve, relative ca_file against the config directory', async t => {
    const config = ok(parseConfig([
      'certificates:',
      '  issuer: acme',
      '  acme:',
      '    terms_of_service_agreed: true',
      '    email: hostmaster@example.com',
      '    directory: letsencrypt-staging',
      '    eab: {kid: k1, hmac_key: abc_-=}',
      '    challenges: [http-01]',
      '    key_type: rsa-2048',
      '    ca_file: ca/pebble.pem',
      '    concurrency: 4',
      '    max_orders: 10',
      '    order_window: 60',
      'tenants:',
      '  example.com:',
      MX,
    ].join('\n'), FILE))
    t.same(config.certificates.acme, {
      directory: 'https://acme-staging-v02.api.letsencrypt.org/directory',
      email: 'hostmaster@example.com',
      termsOfServiceAgreed: true,
      eab: { kid: 'k1', hmacKey: 'abc_-=' },
      challenges: ['http-01'],
      keyType: 'rsa-2048',
      caFile: '/etc/mta-sts/ca/pebble.pem',
      concurrency: 4,
      maxOrders: 10,
      orderWindow: 60,
    })
    t.same(config.warnings, [])
    const named = ok(parseConfig('certificates:\n  issuer: acme\n  acme: {terms_of_service_agreed: true, email: a@b.c, directory: letsencrypt, ca_file: /abs/ca.pem}\ntenants:\n  example.com:\n' + MX, FILE))
    t.equal(named.certificates.acme.directory, 'https://acme-v02.api.letsencrypt.org/directory')
    t.equal(named.certificates.acme.caFile, '/abs/ca.pem')
    const url = ok(parseConfig('certificates:\n  issuer: acme\n  acme: {terms_of_service_agreed: true, email: a@b.c, directory: "https://localhost:14000/dir"}\ntenants:\n  example.com:\n' + MX, FILE))
    t.equal(url.certificates.acme.directory, 'https://localhost:14000/dir', 'a URL is kept as is')
    const other = ok(parseConfig('certificates:\n  issuer: internal\n  acme: {directory: letsencrypt-staging}\ntenants:\n  example.com:\n' + MX, FILE))
    t.equal(other.certificates.acme.termsOfServiceAgreed, false, 'acme settings are read but not required with another issuer')
    t.same(other.warnings, [])
  })

  t.test('relative storage and certificate paths resolve against the config directory', async t => {
    const config = ok(parseConfig([
      'certificates:',
      '  issuer: files',
      '  storage: ../data',
      '  files: {directory: certs}',
      'tenants:',
      '  example.com:',
      '    mx: [mx.example.com]',
      '    certificate: {cert: tls/example.crt, key: /abs/example.key}',
      '  example.org:',
      '    mx: [mx.example.org]',
      '',
    ].join('\n'), FILE))
    t.equal(config.certificates.storage, '/etc/data')
    t.same(config.certificates.files, { directory: '/etc/mta-sts/certs' })
    t.same(config.tenants[0]?.certificate, { cert: '/etc/mta-sts/tls/example.crt', key: '/abs/example.key' })
    t.equal(config.tenants[1]?.certificate, undefined)
    t.equal('certificate' in (config.tenants[1] ?? {}), false)
    t.same(config.warnings, [])
  })

  t.test('the result is frozen all the way down', async t => {
    const config = ok(parseConfig([
      'certificates: {issuer: files, files: {directory: certs}, acme: {eab: {kid: k, hmac_key: h}}}',
      'dns: {target: [policy.example.net]}',
      'tenants:',
      '  example.com:',
      '    mx: [mx.example.com]',
      '    rua: ["mailto:a@example.com"]',
      '    certificate: {cert: a, key: b}',
      '    max_age: 60',
      '',
    ].join('\n'), FILE))
    const tenant = config.tenants[0]
    for (const [name, value] of Object.entries({
      config, listen: config.listen, https: config.listen.https, http: config.listen.http, ops: config.listen.ops,
      log: config.log, certificates: config.certificates, internal: config.certificates.internal, files: config.certificates.files,
      dns: config.dns, target: config.dns.target, tenants: config.tenants, tenant, mx: tenant?.mx, rua: tenant?.rua,
      certificate: tenant?.certificate, warnings: config.warnings,
      acme: config.certificates.acme, eab: config.certificates.acme.eab, challenges: config.certificates.acme.challenges,
    })) {
      t.ok(value !== undefined && Object.isFrozen(value), `${name} is frozen`)
    }
    t.throws(() => { (config.tenants as Config['tenants'] & unknown[]).push(tenant as never) })
    t.throws(() => { (tenant as { mode: string }).mode = 'none' })
  })

  t.test('parses CRLF and BOM files with the same positions', async t => {
    t.same(errorsOf(parseConfig('tenants:\r\n  example.com:\r\n    mode: bad\r\n    mx: [a.example.com]\r\n', FILE)),
      ['3:11: tenants."example.com".mode must be one of enforce, testing, none (got "bad")'])
    t.same(errorsOf(parseConfig('\uFEFFtenants:\n  example.com:\n    mode: bad\n    mx: [a.example.com]\n', FILE)),
      ['3:11: tenants."example.com".mode must be one of enforce, testing, none (got "bad")'])
  })
})

t.test('formatProblem', async t => {
  t.equal(formatProblem({ file: '/a.yaml', line: 3, column: 7, message: 'm' }), '/a.yaml:3:7: m')
  t.equal(formatProblem({ file: '/a.yaml', line: 3, column: 7, message: 'm', hint: 'h' }), '/a.yaml:3:7: m (h)')
})

t.test('loadConfig', async t => {
  t.test('reads and validates a real file, resolving paths against its folder', async t => {
    const dir = await tempDir(t)
    await mkdir(join(dir, 'etc'))
    const file = join(dir, 'etc', 'mta-sts.yaml')
    await writeFile(file, 'certificates:\n  issuer: internal\n  storage: state\ntenants:\n  example.com:\n' + MX)
    const result = await loadConfig(file)
    const config = ok(result)
    t.equal(config.file, file)
    t.equal(config.certificates.storage, join(dir, 'etc', 'state'))
  })
  t.test('a relative file name is resolved against the working directory', async t => {
    const dir = await tempDir(t)
    const file = join(dir, 'c.yaml')
    await writeFile(file, 'tenants:\n  example.com:\n    mode: x\n' + MX)
    const cwd = process.cwd()
    process.chdir(dir)
    t.teardown(() => process.chdir(cwd))
    const result = await loadConfig('c.yaml')
    t.equal(result.ok, false)
    if (!result.ok) t.same(result.errors.map(formatProblem), [`${file}:3:11: tenants."example.com".mode must be one of enforce, testing, none (got "x")`])
  })
  t.test('a missing file gives one problem naming the file', async t => {
    const dir = await tempDir(t)
    const file = join(dir, 'nope.yaml')
    const result = await loadConfig(file)
    t.equal(result.ok, false)
    if (result.ok) return
    t.equal(result.errors.length, 1)
    t.same(result.warnings, [])
    const [problem] = result.errors
    t.equal(problem?.file, resolve(file))
    t.match(problem?.message, /^cannot read the configuration file: ENOENT/)
    t.match(problem?.message, file)
    t.equal(formatProblem(problem as ConfigProblem).startsWith(`${file}:0:0: cannot read the configuration file`), true)
  })
  t.test('a directory is not a configuration file', async t => {
    const dir = await tempDir(t)
    const result = await loadConfig(dir)
    t.equal(result.ok, false)
    if (!result.ok) t.match(result.errors[0]?.message, /^cannot read the configuration file: EISDIR/)
  })
})

/** `n` distinct mx host names. */
const mxNames = (n: number, prefix = 'mx'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}.example.net`)

t.test('limits (issue 7.3)', async t => {
  t.test('a tenant with 20,000 mx entries is refused by limits.mx_per_tenant, at its mx key', async t => {
    const yaml = `tenants:\n  example.com:\n    mx:\n${mxNames(20000).map(m => `      - ${m}\n`).join('')}`
    t.same(errorsOf(parseConfig(yaml, FILE)), [
      '3:5: tenants."example.com".mx has 20000 patterns, over the limit of 1000 (use wildcard patterns (*.mx.example.net), or raise limits.mx_per_tenant (now 1000, default 1000))',
    ])
  })
  t.test('1,000 mx entries are within the default limit; a lower limit applies to defaults.mx too', async t => {
    const list = `[${mxNames(1000, 'm').join(', ')}]`
    t.equal(ok(parseConfig(`tenants:\n  example.com:\n    mx: ${list}\n`, FILE)).tenants[0]?.mx.length, 1000)
    t.same(errorsOf(parseConfig('limits: {mx_per_tenant: 2}\ndefaults:\n  mx: [a.example.net, b.example.net, c.example.net]\ntenants:\n  example.com:\n  example.org: {mx: [a.example.net, b.example.net]}\n', FILE)), [
      '3:3: defaults.mx has 3 patterns, over the limit of 2 (use wildcard patterns (*.mx.example.net), or raise limits.mx_per_tenant (now 2, default 1000))',
      '5:3: tenant "example.com" has no mx patterns (add mx: [mx1.example.com] to the tenant, or defaults.mx for all tenants)',
    ])
  })
  t.test('99 aliases of one 5,000-entry mx list: each tenant refused at its own line, nothing converted past the limit', async t => {
    const yaml = `tenants:\n  t0.example.com:\n    mx: &a [${mxNames(5000).join(', ')}]\n` +
      Array.from({ length: 99 }, (_, i) => `  t${i + 1}.example.com: {mx: *a}\n`).join('')
    const errors = errorsOf(parseConfig(yaml, FILE))
    t.equal(errors.length, 100)
    t.equal(errors[0], '3:5: tenants."t0.example.com".mx has 5000 patterns, over the limit of 1000 (use wildcard patterns (*.mx.example.net), or raise limits.mx_per_tenant (now 1000, default 1000))')
    t.match(errors[99], /^102:21: tenants."t99.example.com".mx has 5000 patterns, over the limit of 1000/)
  })
  t.test('tenants sharing an mx list by alias: same result as written out; values located where the alias points', async t => {
    const yaml = 'tenants:\n  a.example.com:\n    mx: &shared [mx.example.net, "*.mx.example.net", MX.example.net]\n  b.example.com: {mode: enforce, mx: *shared}\n'
    const config = ok(parseConfig(yaml, FILE))
    t.same(config.tenants.map(x => x.mx), [['mx.example.net', '*.mx.example.net'], ['mx.example.net', '*.mx.example.net']])
    t.same(warningsOf(parseConfig(yaml, FILE)).filter(w => w.includes('twice')), [
      '3:54: tenants."a.example.com".mx lists "mx.example.net" twice; the duplicate is dropped',
      '3:54: tenants."b.example.com".mx lists "mx.example.net" twice; the duplicate is dropped',
    ])
  })
  t.test('limits.tenants: the count is refused at the tenants key before any tenant is validated', async t => {
    const yaml = 'limits:\n  tenants: 2\ntenants:\n  a.example.com: {mode: bad}\n  b.example.com:\n  c.example.com:\n'
    t.same(errorsOf(parseConfig(yaml, FILE)), ['3:1: 3 tenants, over the limit of 2 (raise limits.tenants (now 2, default 200000))'])
    t.ok(DEFAULT_LIMITS.tenants >= 100000, 'the default allows the 100,000 tenants the product is built for')
  })
  t.test('the limits section is validated like the rest', async t => {
    t.same(errorsOf(parseConfig('limits: {tenant: 5, mx_per_tenant: 0, alias_nodes: x}\ntenants:\n  example.com:\n' + MX, FILE)), [
      '1:10: unknown key "tenant" in limits (did you mean "tenants"?)',
      '1:36: limits.mx_per_tenant must be between 1 and 100000 (got 0)',
      '1:52: limits.alias_nodes must be an integer',
    ])
  })
  t.test('a policy body over 64 KiB is an error at the tenant, naming its size; exactly 64 KiB is served', async t => {
    // 48 bytes of version, mode and max_age lines, then "mx: <name>\r\n" per pattern.
    const names = (bytes: number): string[] => {
      const out: string[] = []
      let left = bytes - 48
      for (let i = 0; left > 0; i++) {
        const size = Math.min(left, 66) // 60-character names, the last one shorter
        out.push(`m${i}.`.padEnd(size - 6 - 4, 'x') + '.net')
        left -= size
      }
      return out
    }
    const yaml = (bytes: number): string => `tenants:\n  example.com:\n    mx: [${names(bytes).join(', ')}]\n`
    const fits = ok(parseConfig(yaml(65536), FILE))
    t.equal(Buffer.byteLength(renderPolicy(fits.tenants[0] as Tenant)), 65536)
    t.same(errorsOf(parseConfig(yaml(65537), FILE)), [
      '2:3: tenant "example.com" has a policy of 65537 bytes, over the 65536-byte (64 KiB) limit (senders such as Postfix and mox stop reading at 64 KiB: use fewer mx patterns, e.g. one wildcard (*.mx.example.net) for many hosts)',
    ])
    // The issue's 118,938-byte policy, with limits.mx_per_tenant raised so that its 1,802 mx lines pass.
    t.same(errorsOf(parseConfig(`limits: {mx_per_tenant: 5000}\n${yaml(118938)}`, FILE)).map(e => e.slice(0, 60)), ['3:3: tenant "example.com" has a policy of 118938 bytes, over'])
    // The defaults' list, shared: each tenant's size still follows its own mode and max_age
    // ("none" is 3 bytes shorter than "testing", 31557600 two digits longer than 604800).
    const shared = `defaults:\n  mode: testing\n  max_age: 604800\n  mx: [${names(65536).join(', ')}]\ntenants:\n  a.example:\n  b.example:\n  c.example: {max_age: 31557600}\n  d.example: {mode: none}\n  e.example: {mode: none, max_age: 31557600}\n  f.example: {max_age: 31557600}\n`
    t.same(errorsOf(parseConfig(shared, FILE)).map(e => e.slice(0, 57)), [
      '8:3: tenant "c.example" has a policy of 65538 bytes, over',
      '11:3: tenant "f.example" has a policy of 65538 bytes, ove',
    ])
  })
  t.test('a tenant domain whose mta-sts., _mta-sts. or _smtp._tls. name would exceed 253 characters', async t => {
    const domain = (length: number): string => ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), ''].join('.') + 'd'.repeat(length - 196) + '.com'
    t.equal(domain(242).length, 242)
    ok(parseConfig(`tenants:\n  ${domain(242)}:\n` + MX, FILE))
    t.same(errorsOf(parseConfig(`tenants:\n  example.com:\n${MX}  ${domain(243)}:\n` + MX, FILE)), [
      `4:3: tenant domain "${domain(243)}" is too long: _smtp._tls.${domain(243)} would be 254 characters, over the DNS limit of 253 (a tenant domain may have at most 242 characters)`,
    ])
    t.same(errorsOf(parseConfig(`tenants:\n  ${domain(250)}:\n` + MX, FILE)), [
      `2:3: tenant domain "${domain(250)}" is too long: mta-sts.${domain(250)} would be 258 characters, over the DNS limit of 253 (a tenant domain may have at most 242 characters)`,
    ])
  })
  t.test('"../../etc" is reported for its characters, not as an empty label', async t => {
    t.same(errorsOf(parseConfig('tenants:\n  ../../etc:\n' + MX, FILE)), [
      '2:3: tenant domain "../../etc" has invalid characters ("/"): it must be a bare host name (no scheme, port, path or spaces)',
    ])
  })
})

t.test('loadConfig: file size and encoding (issue 7.3, 7.8)', async t => {
  const VALID = 'tenants:\n  example.com:\n' + MX
  t.test('a file over the size limit is refused before it is read, naming the limit and how to raise it', async t => {
    const file = join(await tempDir(t), 'big.yaml')
    await writeFile(file, VALID)
    const size = Buffer.byteLength(VALID)
    const message = `the configuration file is ${size} bytes, over the limit of ${size - 1}`
    const hint = 'raise it with the environment variable MTA_STS_MAX_CONFIG_BYTES=<bytes>'
    t.same(await loadConfig(file, { maxFileBytes: size - 1 }), { ok: false, errors: [{ file, line: 0, column: 0, message, hint }], warnings: [] })
    t.same(await loadConfig(file, { env: { MTA_STS_MAX_CONFIG_BYTES: String(size - 1) } }), { ok: false, errors: [{ file, line: 0, column: 0, message, hint }], warnings: [] })
    ok(await loadConfig(file, { env: { MTA_STS_MAX_CONFIG_BYTES: String(size) } }))
    ok(await loadConfig(file, { maxFileBytes: size }))
    const bad = await loadConfig(file, { env: { MTA_STS_MAX_CONFIG_BYTES: '1e6' } })
    t.same(bad.ok ? [] : bad.errors.map(formatProblem), [`${file}:0:0: cannot check the configuration file's size: MTA_STS_MAX_CONFIG_BYTES="1e6" is not a positive number of bytes (unset it (default 16 MiB) or set a number of bytes)`])
  })
  t.test('UTF-16, UTF-32 and Latin-1 files are named as such', async t => {
    const dir = await tempDir(t)
    const cases: [string, Buffer, string][] = [
      ['utf16le-bom', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(VALID, 'utf16le')]), '1:1: the configuration file is UTF-16 (little-endian) text, not UTF-8'],
      ['utf16be-bom', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(VALID, 'utf16le').swap16()]), '1:1: the configuration file is UTF-16 (big-endian) text, not UTF-8'],
      ['utf16le', Buffer.from(VALID, 'utf16le'), '1:1: the configuration file contains NUL bytes: it looks like UTF-16 (little-endian) or UTF-32 text, not UTF-8'],
      ['utf32le-bom', Buffer.from([0xff, 0xfe, 0, 0, 0x74, 0, 0, 0]), '1:1: the configuration file is UTF-32 (little-endian) text, not UTF-8'],
      ['latin1', Buffer.from('tenants:\n  example.com: # café\n' + MX, 'latin1'), '2:21: the configuration file is not valid UTF-8 (Latin-1 or another legacy encoding?)'],
    ]
    for (const [name, bytes, expected] of cases) {
      const file = join(dir, `${name}.yaml`)
      await writeFile(file, bytes)
      const result = await loadConfig(file)
      t.same(result.ok ? [] : result.errors.map(formatProblem), [`${file}:${expected} (save the file as UTF-8, e.g. iconv -f <encoding> -t UTF-8 FILE > FILE.utf8)`], name)
    }
    const bom = join(dir, 'utf8-bom.yaml')
    await writeFile(bom, '\uFEFF' + VALID)
    ok(await loadConfig(bom))
  })
})

t.test('reports: settings with defaults, paths relative to the file, mailbox port by security, and errors located', async t => {
  const parse = (yaml: string): Config => {
    const result = parseConfig(`${yaml}tenants:\n  example.com:\n    mx: [mx.example.com]\n`, '/etc/mta/c.yaml')
    if (!result.ok) throw new Error(result.errors.map(formatProblem).join('\n'))
    return result.config
  }
  const full = parse([
    'certificates: {storage: data}',
    'reports:',
    '  https_path: /reports/tls',
    '  mailto: tlsrpt@provider.example',
    '  max_ratio: 50',
    '  rate_limit: {max: 5}',
    '  mailbox: {host: imap.example.net, user: tlsrpt, password_file: secrets/imap, after: move, ca_file: ca.pem}',
    '  verdict: {days: 14, min_organizations: 3, required: false}',
    '',
  ].join('\n'))
  t.equal(full.reports.database, '/etc/mta/data/reports.sqlite', 'next to the certificates by default')
  t.same(full.reports.rateLimit, { max: 5, window: 60 })
  t.equal(full.reports.maxRatio, 50)
  t.same(full.reports.verdict, { days: 14, minOrganizations: 3, required: false })
  t.same(full.reports.mailbox, {
    host: 'imap.example.net',
    port: 993,
    security: 'tls',
    user: 'tlsrpt',
    passwordFile: '/etc/mta/secrets/imap',
    folder: 'INBOX',
    after: 'move',
    processedFolder: 'TLSRPT-processed',
    rejectedFolder: 'TLSRPT-rejected',
    pollInterval: 300,
    maxMessageBytes: 20 * 1024 * 1024,
    caFile: '/etc/mta/ca.pem',
  })
  t.same(full.tenants[0]?.rua, ['https://mta-sts.example.com/reports/tls', 'mailto:tlsrpt@provider.example'])
  const starttls = parse('reports:\n  database: /srv/r.db\n  mailbox: {host: 127.0.0.1, user: u, password_file: /p, security: starttls}\n')
  t.equal(starttls.reports.mailbox?.port, 143, 'STARTTLS and plain default to port 143')
  t.equal(starttls.reports.database, '/srv/r.db')

  const bad = parseConfig('reports:\n  max_ratio: 1\n  mailbox: {host: h, user: u}\n  colour: red\ntenants:\n  example.com:\n    mx: [mx.example.com]\n', '/c.yaml')
  t.notOk(bad.ok)
  const messages = bad.ok ? [] : bad.errors.map(formatProblem)
  t.match(messages.join('\n'), /2:\d+: .*reports\.max_ratio/, 'names the key and its line')
  t.match(messages.join('\n'), /3:\d+: .*password_file/, 'a mailbox without a password file')
  t.match(messages.join('\n'), /4:\d+: unknown key "colour"/)
})

t.test('reports settings of the wrong type are schema errors, not a crash', async t => {
  for (const yaml of ['certificates: {storage: 5}\n', 'certificates: 5\n', 'reports: {database: [x]}\n', 'reports: {mailbox: {host: h, user: u, password_file: p, ca_file: 7}}\n', 'reports: 3\n']) {
    const result = parseConfig(`${yaml}tenants:\n  example.com:\n    mx: [mx.example.com]\n`, '/c.yaml')
    t.notOk(result.ok, yaml.trim())
    t.match(result.ok ? '' : formatProblem(result.errors[0] as ConfigProblem), /^\/c\.yaml:1:\d+: /)
  }
})

t.test('stats and ui settings: defaults, sender rules checked with file:line, paths resolved', async t => {
  const tenants = 'tenants:\n  example.com:\n    mx: [mx.example.com]\n'
  const plain = parseConfig(tenants, '/etc/mta/c.yaml')
  if (!plain.ok) throw new Error('valid')
  t.same(plain.config.stats, { enabled: true, flushInterval: 60, senders: [] })
  t.same(plain.config.ui, { enabled: true, pageSize: 100 })
  t.ok(Object.isFrozen(plain.config.stats) && Object.isFrozen(plain.config.ui))

  const full = parseConfig('stats:\n  flush_interval: 30\n  senders:\n    - { name: acme-mta, user_agent: "^AcmeMTA/", networks: [192.0.2.0/24, "2001:db8::/32", 198.51.100.7] }\nui:\n  password_file: ui.pass\n  page_size: 50\n' + tenants, '/etc/mta/c.yaml')
  if (!full.ok) throw new Error(JSON.stringify(full.errors))
  t.same(full.config.stats.senders, [{ name: 'acme-mta', userAgent: '^AcmeMTA/', networks: ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7'] }])
  t.equal(full.config.stats.flushInterval, 30)
  t.same(full.config.ui, { enabled: true, pageSize: 50, passwordFile: '/etc/mta/ui.pass' })

  const bad = parseConfig([
    'stats:', //                                     1
    '  senders:', //                                 2
    '    - name: broken', //                         3
    '      user_agent: "(unclosed"', //              4
    '    - name: ranges', //                         5
    '      networks:', //                            6
    '        - 192.0.2.0/33', //                     7
    '        - example.com', //                      8
    '        - 2001:db8::/48/1', //                  9
    '    - name: empty', //                          10
    '    - name: "Bad Name"', //                     11
    '      user_agent: x', //                        12
    tenants,
  ].join('\n'), '/c.yaml')
  t.notOk(bad.ok)
  const messages = bad.ok ? '' : bad.errors.map(formatProblem).join('\n')
  t.match(messages, /\/c\.yaml:4:\d+: stats\.senders\[0\]\.user_agent is not a regular expression/)
  t.match(messages, /\/c\.yaml:7:\d+: stats\.senders\[1\]\.networks "192\.0\.2\.0\/33" is not an address range/)
  t.match(messages, /\/c\.yaml:8:\d+: .*"example\.com" is not an address range/)
  t.match(messages, /\/c\.yaml:9:\d+: .*"2001:db8::\/48\/1" is not an address range/)
  t.match(messages, /\/c\.yaml:10:\d+: stats\.senders\[2\] \(empty\) names neither user_agent nor networks/)
  t.match(messages, /\/c\.yaml:11:\d+: .*name/)

  const off = parseConfig('reports: { enabled: false }\n' + tenants, '/c.yaml')
  t.match(off.ok ? off.config.warnings.map(formatProblem).join('\n') : '', /stats\.enabled has no effect while reports\.enabled is false/)
  const bothOff = parseConfig('reports: { enabled: false }\nstats: { enabled: false }\n' + tenants, '/c.yaml')
  t.notMatch(bothOff.ok ? bothOff.config.warnings.map(formatProblem).join('\n') : 'x', /stats/)
})

t.test('database settings: absent by default; the URL file resolved, the pool size defaulted', async t => {
  const tenants = 'tenants:\n  example.com:\n    mx: [mx.example.com]\n'
  const plain = parseConfig(tenants, '/etc/mta/c.yaml')
  t.equal(plain.ok ? plain.config.database : 'x', undefined)
  const set = parseConfig('database: { url_file: secrets/db.url }\n' + tenants, '/etc/mta/c.yaml')
  t.same(set.ok ? set.config.database : undefined, { poolSize: 10, urlFile: '/etc/mta/secrets/db.url' })
  const env = parseConfig('database: { pool_size: 4 }\n' + tenants, '/etc/mta/c.yaml')
  t.same(env.ok ? env.config.database : undefined, { poolSize: 4 })
  const bad = parseConfig('database: { url: "postgres://u:p@h/db" }\n' + tenants, '/c.yaml')
  t.match(bad.ok ? '' : bad.errors.map(formatProblem).join('\n'), /\/c\.yaml:1:\d+: unknown key "url"/, 'the URL itself is never in the file')
})
