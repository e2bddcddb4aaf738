import t from 'tap'
import { isChallengeToken } from '../../src/acme/challenge-token.js'

const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA'

t.test('isChallengeToken', async t => {
  const table: [string, boolean, string][] = [
    [TOKEN, true, 'a real token (43 characters)'],
    ['a'.repeat(22), true, '22 characters (128 bits) is the minimum'],
    ['a'.repeat(21), false, 'too short'],
    ['', false, 'empty'],
    ['A-z_09'.repeat(42) + 'abcd', true, '256 characters is the maximum'],
    ['a'.repeat(257), false, 'too long'],
    [`${TOKEN}=`, false, 'padding is not base64url'],
    ['abc+def/ghi'.padEnd(30, 'x'), false, 'base64 (not url) characters'],
    [`../../../../etc/passwd${'x'.repeat(10)}`, false, 'path traversal'],
    [`${'a'.repeat(22)}.json`, false, 'dots'],
    ['.'.repeat(30), false, 'only dots'],
    [`${'a'.repeat(22)}%2F`, false, 'percent-encoding'],
    [`${'a'.repeat(22)} `, false, 'trailing space'],
    [`${'a'.repeat(22)}\n`, false, 'trailing newline'],
    [`${'é'.repeat(22)}`, false, 'non-ASCII'],
  ]
  for (const [token, ok, label] of table) t.equal(isChallengeToken(token), ok, label)
})
