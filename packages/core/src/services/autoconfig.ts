/**
 * Mail client autoconfiguration: Thunderbird's autoconfig (config-v1.1.xml), Outlook's POX autodiscover (2006 schema)
 * and Apple configuration profiles (.mobileconfig). Every answer is built from the operator's ClientSettings, so the
 * connection card, the autoconfig answers and the profiles always name the same host and ports.
 */
import { createHash } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { build as buildPlist, type PlistValue } from 'plist';
import type { PrismaClient } from '@mailroom/db';
import { parseAddress, type ParsedAddress } from '../address.ts';
import { AppError } from '../errors.ts';
import type { ClientSettings } from '../schemas/autoconfig.ts';
import { findHostedDomain } from './hosted-domains.ts';
import { getMailbox } from './mailboxes.ts';
import type { Actor } from './principal.ts';
import { notFound } from './shared.ts';

/** Largest autodiscover request body read (a real one is ~400 bytes). */
export const MAX_AUTODISCOVER_REQUEST_BYTES = 16 * 1024;
/** Thunderbird's POP3 options: keep a copy on the server for this many days, so a second device can fetch too. */
export const AUTOCONFIG_POP3_LEAVE_DAYS = 14;
/** Port named in profiles when the operator configures no submission server (Apple requires an outgoing server). */
export const PLACEHOLDER_SUBMISSION_PORT = 587;

export const AUTODISCOVER_RESPONSE_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
export const AUTODISCOVER_OUTLOOK_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
export const MOBILECONFIG_CONTENT_TYPE = 'application/x-apple-aspen-config';

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text or attribute value for XML. */
export function escapeXml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

function invalidAddress(path: string): AppError {
  return new AppError('VALIDATION_FAILED', 'Not a valid email address', {
    fields: [{ path, message: 'must be an email address like name@example.com', code: 'invalid_address' }],
  });
}

/**
 * The address a client asks about, if its domain is hosted here. Unknown (or not active) domains are NOT_FOUND; the
 * local part is never looked up, so the answer is the same whether a mailbox exists or not.
 */
export async function resolveAutoconfigAddress(prisma: PrismaClient, input: string, path: string): Promise<AutoconfigAddress> {
  const parsed = parseAddress(input.trim());
  if (!parsed) throw invalidAddress(path);
  const domain = await findHostedDomain(prisma, parsed.domain);
  if (!domain) throw notFound('Domain');
  return { ...parsed, loginDomain: domain.loginDomain, login: `${parsed.localPart}@${domain.loginDomain}` };
}

/** An address a client asks about, with the address it signs in with (the same name at an alias domain's target). */
export interface AutoconfigAddress extends ParsedAddress {
  loginDomain: string;
  login: string;
}

/**
 * Thunderbird: `clientConfig` 1.1 for every address of `domain`. The username is the %EMAILADDRESS% placeholder, or for
 * an alias domain (`loginDomain` its target) the same local part at the target: %EMAILLOCALPART%@target.
 */
export function buildThunderbirdConfig(s: ClientSettings, domain: string, loginDomain = domain): string {
  const username = loginDomain === domain ? '%EMAILADDRESS%' : `%EMAILLOCALPART%@${escapeXml(loginDomain)}`;
  const pop3 = (port: number, socketType: 'SSL' | 'STARTTLS') => [
    '    <incomingServer type="pop3">',
    `      <hostname>${escapeXml(s.host)}</hostname>`,
    `      <port>${port}</port>`,
    `      <socketType>${socketType}</socketType>`,
    `      <username>${username}</username>`,
    '      <authentication>password-cleartext</authentication>',
    '      <pop3>',
    '        <leaveMessagesOnServer>true</leaveMessagesOnServer>',
    `        <daysToLeaveMessagesOnServer>${AUTOCONFIG_POP3_LEAVE_DAYS}</daysToLeaveMessagesOnServer>`,
    '        <downloadOnBiff>true</downloadOnBiff>',
    '      </pop3>',
    '    </incomingServer>',
  ];
  // Thunderbird refuses a config without an <outgoingServer> ("Need proper <outgoingServer> in XML file"). Mailroom
  // offers no submission: without the operator's server, name a placeholder that Thunderbird does not create
  // (useGlobalPreferredServer: the account keeps the user's default outgoing server).
  const out = s.submission ?? { host: s.host, port: PLACEHOLDER_SUBMISSION_PORT, security: 'starttls' as const };
  const outgoing = [
    '    <outgoingServer type="smtp">',
    `      <hostname>${escapeXml(out.host)}</hostname>`,
    `      <port>${out.port}</port>`,
    `      <socketType>${out.security === 'tls' ? 'SSL' : 'STARTTLS'}</socketType>`,
    `      <username>${username}</username>`,
    '      <authentication>password-cleartext</authentication>',
    ...(s.submission ? [] : ['      <useGlobalPreferredServer>true</useGlobalPreferredServer>']),
    '    </outgoingServer>',
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${escapeXml(domain)}">`,
    `    <domain>${escapeXml(domain)}</domain>`,
    `    <displayName>${escapeXml(domain)} (POP3)</displayName>`,
    `    <displayShortName>${escapeXml(domain)}</displayShortName>`,
    ...pop3(s.pop3sPort, 'SSL'),
    ...pop3(s.pop3Port, 'STARTTLS'),
    ...outgoing,
    '  </emailProvider>',
    '</clientConfig>',
    '',
  ].join('\n');
}

const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };

function badAutodiscover(message: string): AppError {
  return new AppError('VALIDATION_FAILED', `Not an autodiscover request: ${message}`, {
    fields: [{ path: 'body', message, code: 'invalid_autodiscover_request' }],
  });
}

/**
 * The EMailAddress of an Outlook POX autodiscover request. No DTD is accepted (so no entity can be declared, let alone
 * expanded), entities are not processed by the parser, and only the five predefined ones are decoded afterwards.
 * The caller bounds the size (MAX_AUTODISCOVER_REQUEST_BYTES).
 */
export function parseAutodiscoverRequest(xml: string): string {
  if (xml.length > MAX_AUTODISCOVER_REQUEST_BYTES) throw badAutodiscover(`larger than ${MAX_AUTODISCOVER_REQUEST_BYTES} bytes`);
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) throw badAutodiscover('document type declarations are not accepted');
  let doc: { Autodiscover?: { Request?: { EMailAddress?: unknown } } };
  try {
    if (XMLValidator.validate(xml) !== true) throw badAutodiscover('not well-formed XML');
    const parser = new XMLParser({
      processEntities: false,
      ignoreAttributes: true,
      removeNSPrefix: true,
      parseTagValue: false,
      ignoreDeclaration: true,
      ignorePiTags: true,
    });
    doc = parser.parse(xml) as typeof doc;
  } catch (err) {
    // The parser's own limits (e.g. nesting depth) end here too.
    throw err instanceof AppError ? err : badAutodiscover('not acceptable XML (too deeply nested or malformed)');
  }
  const email = doc?.Autodiscover?.Request?.EMailAddress;
  if (typeof email !== 'string' || !email.trim()) throw badAutodiscover('needs one Autodiscover/Request/EMailAddress');
  return email.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) => PREDEFINED_ENTITIES[name]!);
}

/** Outlook: the POP3 account in the 2006 response schema (POP3S; SMTP only when the operator has a submission server). */
export function buildAutodiscoverResponse(s: ClientSettings, address: string): string {
  const protocol = (type: string, host: string, port: number, tls: 'SSL' | 'TLS') => [
    '      <Protocol>',
    `        <Type>${type}</Type>`,
    `        <Server>${escapeXml(host)}</Server>`,
    `        <Port>${port}</Port>`,
    `        <LoginName>${escapeXml(address)}</LoginName>`,
    '        <DomainRequired>off</DomainRequired>',
    '        <SPA>off</SPA>',
    '        <SSL>on</SSL>',
    `        <Encryption>${tls}</Encryption>`,
    '        <AuthRequired>on</AuthRequired>',
    '      </Protocol>',
  ];
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${AUTODISCOVER_RESPONSE_SCHEMA}">`,
    `  <Response xmlns="${AUTODISCOVER_OUTLOOK_SCHEMA}">`,
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    ...protocol('POP3', s.host, s.pop3sPort, 'SSL'),
    ...(s.submission ? protocol('SMTP', s.submission.host, s.submission.port, s.submission.security === 'tls' ? 'SSL' : 'TLS') : []),
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

const PROFILE_UUID_NAMESPACE = 'c0c6a1d2-7d0e-4c55-9f3e-6b7a5e2f4d10';

/** RFC 9562 UUID version 5 (SHA-1, name-based): the same name always gives the same UUID. */
export function uuidV5(name: string, namespace = PROFILE_UUID_NAMESPACE): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toUpperCase();
}

export interface MailboxProfile {
  filename: string;
  body: string;
}

export interface ProfileMailbox {
  id: string;
  address: string;
  displayName: string | null;
}

/**
 * An Apple configuration profile (XML property list) with one com.apple.mail.managed POP account. PayloadUUIDs and
 * identifiers are derived from the mailbox id, so downloading again replaces the installed profile. The password is
 * embedded only when given; otherwise the device asks for it.
 */
export function buildMobileconfig(s: ClientSettings, mailbox: ProfileMailbox, password?: string): MailboxProfile {
  const reverseHost =
    s.host
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')
      .split('.')
      .filter(Boolean)
      .reverse()
      .join('.') || 'mailroom';
  const identifier = `${reverseHost}.mailroom.mailbox.${mailbox.id}`;
  // Apple requires an outgoing server; without the operator's, the profile names the public host (see README).
  const out = s.submission ?? { host: s.host, port: PLACEHOLDER_SUBMISSION_PORT, security: 'starttls' as const };
  const account: Record<string, PlistValue> = {
    PayloadType: 'com.apple.mail.managed',
    PayloadVersion: 1,
    PayloadIdentifier: `${identifier}.account`,
    PayloadUUID: uuidV5(`${mailbox.id}:account`),
    PayloadDisplayName: `POP3 account ${mailbox.address}`,
    EmailAccountDescription: mailbox.address,
    ...(mailbox.displayName ? { EmailAccountName: mailbox.displayName } : {}),
    EmailAccountType: 'EmailTypePOP',
    EmailAddress: mailbox.address,
    IncomingMailServerAuthentication: 'EmailAuthPassword',
    IncomingMailServerHostName: s.host,
    IncomingMailServerPortNumber: s.pop3sPort,
    IncomingMailServerUseSSL: true,
    IncomingMailServerUsername: mailbox.address,
    ...(password !== undefined ? { IncomingPassword: password } : {}),
    OutgoingMailServerAuthentication: 'EmailAuthPassword',
    OutgoingMailServerHostName: out.host,
    OutgoingMailServerPortNumber: out.port,
    OutgoingMailServerUseSSL: true,
    OutgoingMailServerUsername: mailbox.address,
    OutgoingPasswordSameAsIncomingPassword: true,
  };
  const profile: Record<string, PlistValue> = {
    PayloadContent: [account],
    PayloadDescription: `Sets up ${mailbox.address} in Mail: POP3 from ${s.host} over TLS.`,
    PayloadDisplayName: `Mail: ${mailbox.address}`,
    PayloadIdentifier: identifier,
    PayloadOrganization: s.host,
    PayloadRemovalDisallowed: false,
    PayloadType: 'Configuration',
    PayloadUUID: uuidV5(`${mailbox.id}:profile`),
    PayloadVersion: 1,
  };
  return { filename: `${mailbox.address.replace(/[^A-Za-z0-9._@+-]/g, '_')}.mobileconfig`, body: buildPlist(profile) };
}

/**
 * The profile of a mailbox the actor may read (owners and admins by id; 404 for another tenant's), or with
 * `{ self: true }` the signed-in mailbox user's own.
 */
export async function getMailboxProfile(
  prisma: PrismaClient,
  actor: Actor,
  target: { mailboxId: string } | { self: true },
  s: ClientSettings,
  password?: string,
): Promise<MailboxProfile> {
  if ('mailboxId' in target) {
    const m = await getMailbox(prisma, actor, target.mailboxId);
    return buildMobileconfig(s, m, password);
  }
  const p = actor.principal;
  if (p.kind !== 'mailbox')
    throw new AppError('FORBIDDEN', 'Only a signed-in mailbox user has an own profile; owners use /api/v1/mailboxes/{id}/mobileconfig');
  const m = await prisma.mailbox.findUnique({ where: { id: p.mailboxId }, select: { id: true, displayName: true } });
  if (!m) throw new AppError('UNAUTHENTICATED', 'Not signed in');
  return buildMobileconfig(s, { id: m.id, address: p.address, displayName: m.displayName }, password);
}
