import { gzipSync } from 'node:zlib'
import MailComposer from 'nodemailer/lib/mail-composer'

/** An RFC 8460 report mail around a JSON report file, the report gzipped as application/tlsrpt+gzip. */
export async function reportMail (name: string, json: Buffer): Promise<{ mail: Buffer, report: Buffer }> {
  const report = gzipSync(json)
  const composer = new MailComposer({
    from: 'tlsrpt@reporter.example',
    to: 'tlsrpt@example.com',
    subject: `Report Domain: example.com Submitter: reporter.example Report-ID: <${name}>`,
    headers: { 'TLS-Report-Domain': 'example.com', 'TLS-Report-Submitter': 'reporter.example' },
    text: 'This is an aggregate TLS report.',
    attachments: [{ filename: `reporter.example!example.com!0!1!${name}.json.gz`, content: report, contentType: 'application/tlsrpt+gzip' }],
  })
  const node = composer.compile()
  node.setHeader('Content-Type', 'multipart/report; report-type=tlsrpt')
  return { mail: await node.build(), report }
}
