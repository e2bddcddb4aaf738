import t from 'tap'
import { suggest } from '../../src/config/suggest.js'

t.test('suggests the closest candidate within the typo limit', async t => {
  const keys = ['listen', 'log', 'certificates', 'dns', 'defaults', 'tenants']
  const table: [string, string[], string | undefined][] = [
    ['prot', ['host', 'port'], 'port'],
    ['tenant', keys, 'tenants'],
    ['TENANTS', keys, undefined], // identical apart from case: nothing to suggest
    ['Tenant', keys, 'tenants'],
    ['certificate', keys, 'certificates'],
    ['certifcates', keys, 'certificates'],
    ['enforcing', ['enforce', 'testing', 'none'], 'enforce'],
    ['testng', ['enforce', 'testing', 'none'], 'testing'],
    ['acme', ['internal', 'files'], undefined],
    ['colour', keys, undefined],
    ['x', ['y'], undefined], // replacing every letter is no typo
    ['a', ['ui'], undefined], // nor is distance 2 from a one-letter word
    ['lg', ['log'], 'log'], // distance 1 is within the minimum limit of 2
    ['ab', ['xyz'], undefined], // distance 3
    ['abcdefghijkl', ['abcdefghwxyz'], 'abcdefghwxyz'], // distance 4 <= floor(12 / 3)
    ['abcdefghijkl', ['abcdefgvwxyz'], undefined], // distance 5 > 4
    ['port', ['port'], undefined], // exact match is not a typo
    ['anything', [], undefined],
  ]
  for (const [input, candidates, expected] of table) {
    t.equal(suggest(input, candidates), expected, `${input} -> ${String(expected)}`)
  }
})

t.test('keeps the first of equally close candidates and accepts any iterable', async t => {
  t.equal(suggest('bat', ['cat', 'hat']), 'cat')
  t.equal(suggest('bat', new Set(['hat', 'cat'])), 'hat')
  t.equal(suggest('Mdoe', new Map([['mode', 1]]).keys()), 'mode')
})
