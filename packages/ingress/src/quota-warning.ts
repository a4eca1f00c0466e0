import type { QuotaWarning } from './delivery-types.ts';
import { rfc5322Date } from './message.ts';

/** 1536 → "1.5 KiB" (binary units, one decimal). */
export function formatOctets(n: bigint): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * The quota warning delivered into a mailbox: an RFC 5322 plain-text message (UTF-8, CRLF) from postmaster@<domain>,
 * marked Auto-Submitted: auto-generated (RFC 3834) so that clients and vacation responders do not answer it.
 */
export function buildQuotaWarningMessage(w: QuotaWarning, opts: { hostname: string; messageId: string; date: Date }): Buffer {
  const domain = w.address.slice(w.address.lastIndexOf('@') + 1);
  const percentUsed = w.quotaBytes > 0n ? Number((w.usedBytes * 1000n) / w.quotaBytes) / 10 : 0;
  const headers = [
    `Return-Path: <>`,
    `Delivered-To: ${w.address}`,
    `Date: ${rfc5322Date(opts.date)}`,
    `From: Mail System <postmaster@${domain}>`,
    `To: <${w.address}>`,
    `Subject: Your mailbox is ${w.percent}% full`,
    `Message-ID: <quota-warning.${opts.messageId}@${opts.hostname}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  const body = [
    `Your mailbox ${w.address} has reached ${w.percent}% of its storage quota.`,
    '',
    `  Used:  ${formatOctets(w.usedBytes)} (${percentUsed}%)`,
    `  Quota: ${formatOctets(w.quotaBytes)}`,
    '',
    'When the mailbox is full, new mail to it is refused or delayed by the sending servers.',
    '',
    'What you can do:',
    '  - delete messages you no longer need, or download them with your mail program',
    '    set not to keep a copy on the server;',
    '  - ask your mail administrator for a larger quota.',
    '',
    'This message does not count against your quota. You will be warned again if the',
    'mailbox reaches the next threshold, or this one again after usage went below it.',
    '',
    `-- postmaster@${domain}`,
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.join('\r\n')}\r\n`, 'utf8');
}
