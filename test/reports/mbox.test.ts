import t from 'tap'
import { isMbox, splitMbox } from '../../src/reports/mbox.js'

const texts = (messages: Buffer[]): string[] => messages.map(m => m.toString('latin1'))

t.test('isMbox: a file that starts with a From line', async t => {
  t.ok(isMbox(Buffer.from('From a@b Thu Jan  1 00:00:00 2024\n')))
  t.notOk(isMbox(Buffer.from('From: a@b\n')), 'a header field is a mail, not an mbox')
  t.notOk(isMbox(Buffer.from(' From a@b\n')))
  t.notOk(isMbox(Buffer.from('From')))
  t.notOk(isMbox(Buffer.alloc(0)))
})

t.test('messages are split at From lines after an empty line, separators dropped', async t => {
  const mbox = Buffer.from(
    'From a@b Thu Jan  1 00:00:00 2024\nSubject: one\n\nbody one\n\n' +
    'From c@d Fri Jan  2 00:00:00 2024\nSubject: two\n\nline\nFrom inside a paragraph stays\n\n' +
    'From e@f Sat Jan  3 00:00:00 2024\nSubject: three\n\nlast, no final newline')
  t.same(texts(splitMbox(mbox)), [
    'Subject: one\n\nbody one\n',
    'Subject: two\n\nline\nFrom inside a paragraph stays\n',
    'Subject: three\n\nlast, no final newline',
  ])
})

t.test('quoted From lines are unquoted the mboxrd way', async t => {
  const mbox = Buffer.from('From a@b x\nSubject: q\n\n>From here\n>>From there\n>not from\n> From spaced\n\n')
  t.same(texts(splitMbox(mbox)), ['Subject: q\n\nFrom here\n>From there\n>not from\n> From spaced\n'])
})

t.test('CRLF line endings are kept, the CRLF blank line before a separator dropped', async t => {
  const mbox = Buffer.from('From a@b x\r\nSubject: 1\r\n\r\nbody\r\n\r\nFrom c@d y\r\nSubject: 2\r\n\r\nbody\r\n')
  t.same(texts(splitMbox(mbox)), ['Subject: 1\r\n\r\nbody\r\n', 'Subject: 2\r\n\r\nbody\r\n'])
})

t.test('bytes are kept as they are (8-bit, binary)', async t => {
  const body = Buffer.from([0x00, 0xff, 0x80, 0x0d, 0x0a])
  const mbox = Buffer.concat([Buffer.from('From a@b x\n'), body, Buffer.from('\n')])
  const [only] = splitMbox(mbox)
  t.same(only, body, 'the final newline is the mbox empty line; a CR before it is the message\'s')
})

t.test('text before the first separator and files without one give nothing', async t => {
  t.same(texts(splitMbox(Buffer.from('junk\n\nFrom a@b x\nSubject: s\n'))), ['Subject: s\n'])
  t.same(splitMbox(Buffer.from('Subject: plain mail\n\nno separator\n')), [])
  t.same(splitMbox(Buffer.alloc(0)), [])
  t.same(texts(splitMbox(Buffer.from('From a@b x\n'))), [''], 'an empty message is still one')
})
