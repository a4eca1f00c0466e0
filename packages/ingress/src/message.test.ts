import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorAddresses, buildTraceFields, CrlfNormalizer, messageIdHeader, normalizeCrlf, splitTraceFields } from './message.ts';

/** The rule, stated simply: CRLF stays, a bare CR or a bare LF becomes CRLF. */
function reference(input: Buffer): Buffer {
  return Buffer.from(input.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

describe('CrlfNormalizer', () => {
  it('normalises bare LF and bare CR and keeps CRLF', () => {
    expect(normalizeCrlf('a\nb\r\nc\rd\r').toString()).toBe('a\r\nb\r\nc\r\nd\r\n');
    expect(normalizeCrlf('\r\n\n\r\r\n').toString()).toBe('\r\n\r\n\r\n\r\n');
    expect(normalizeCrlf('').length).toBe(0);
  });

  it('gives the same bytes however the input is split into chunks', () => {
    for (let round = 0; round < 300; round++) {
      const alphabet = Buffer.from('ab\r\n\r\n.\x00\xff', 'latin1');
      const input = Buffer.from(Array.from({ length: randomInt(0, 200) }, () => alphabet[randomInt(0, alphabet.length)]!));
      const n = new CrlfNormalizer();
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < input.length) {
        const size = randomInt(1, 8);
        out.push(n.push(input.subarray(pos, pos + size)));
        pos += size;
      }
      out.push(n.end());
      expect(Buffer.concat(out).toString('hex')).toBe(reference(input).toString('hex'));
    }
  });

  it('passes large CRLF input through unchanged', () => {
    const body = Buffer.from(randomBytes(300_000).toString('base64').replace(/.{76}/g, '$&\r\n') + '\r\n');
    expect(normalizeCrlf(body).equals(body)).toBe(true);
  });
});

describe('trace fields', () => {
  it('are CRLF lines that splitTraceFields finds again, and client text cannot inject header lines', () => {
    const trace = buildTraceFields({
      envelopeFrom: 'a@example.org\r\nX-Evil: 1',
      deliveredTo: 'b@example.com',
      rcptTo: 'B@EXAMPLE.COM',
      helo: 'evil\r\nX-Injected: yes',
      remoteAddress: '192.0.2.1',
      hostname: 'mx.test',
      protocol: 'ESMTPS',
      queueId: 'ABCDEFGHJKLM',
      date: new Date(Date.UTC(2026, 10, 27, 1, 2, 3)),
    });
    const text = trace.toString();
    expect(text).not.toMatch(/\r\nX-(Evil|Injected)/);
    expect(text).toContain('with ESMTPS id ABCDEFGHJKLM');
    expect(text).toContain('; Fri, 27 Nov 2026 01:02:03 +0000\r\n');
    const msg = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect(splitTraceFields(Buffer.concat([trace, msg]))).toEqual({ trace, message: msg });
  });
});

describe('messageIdHeader', () => {
  it('reads the Message-ID field, unfolded, case-insensitively, only from the header section, without control characters', () => {
    expect(messageIdHeader(Buffer.from('Subject: x\r\nmessage-id:\r\n <a@b.example>\r\n\r\nbody\r\n'))).toBe('<a@b.example>');
    expect(messageIdHeader(Buffer.from('Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n'))).toBeNull();
    expect(messageIdHeader(Buffer.from('Message-ID: <\u0001evil\r\n\tx@y>\r\n\r\n'))).toBe('<evilx@y>');
    expect(messageIdHeader(Buffer.from(`Message-ID: <${'a'.repeat(1000)}>\r\n\r\n`))!.length).toBe(250);
  });
});

describe('authorAddresses', () => {
  const authors = (header: string) => authorAddresses(Buffer.from(`${header}\r\nSubject: x\r\n\r\nFrom: body@not.example\r\n`));
  it('reads the mailboxes of the From field as a mail client shows them, not the body', () => {
    expect(authors('From: "Shop, News" <News@Shop.example> (newsletter)')).toEqual(['News@Shop.example']);
    expect(authors('from:\r\n\t<"a b"@quoted.example>')).toEqual(['"a b"@quoted.example']);
    expect(authors('From: Team: ann@one.example, bob@two.example;')).toEqual(['ann@one.example', 'bob@two.example']);
    expect(authors('From: bare@x.example\r\nFrom: second@y.example')).toEqual(['bare@x.example', 'second@y.example']);
    expect(authors('From: =?utf-8?q?J=C3=BCrgen?= <j\u00fcrgen@m\u00fcller.example>')).toEqual(['j\u00fcrgen@m\u00fcller.example']);
    expect(authors('Sender: s@x.example')).toEqual([]);
  });
  it('is bounded: 32 authors at most, nothing over 254 octets, no undisclosed or broken addresses', () => {
    const many = Array.from({ length: 500 }, (_, i) => `a${i}@x.example`).join(', ');
    expect(authors(`From: ${many}`)).toHaveLength(32);
    expect(authors(`From: ${'a'.repeat(300)}@x.example, ok@x.example`)).toEqual(['ok@x.example']);
    expect(authors('From: undisclosed-recipients:;, <>, no-at-sign')).toEqual([]);
  });
  it('reads a From field after 64 KiB of other fields, up to the longest header section accepted', () => {
    const padded = Buffer.from(`${'X-Pad: '.padEnd(998, 'x')}\r\n`.repeat(100) + 'From: late@x.example\r\n\r\nbody\r\n');
    expect(authorAddresses(padded, 1_048_576)).toEqual(['late@x.example']);
    expect(authorAddresses(padded)).toEqual([]);
  });
});
