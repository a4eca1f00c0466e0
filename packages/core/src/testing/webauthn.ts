// A software WebAuthn authenticator for tests: real ES256 keys (node:crypto), real CBOR attestation objects ('none'
// attestation) and real signed assertions, built here independently of the server library that verifies them.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

type Cbor = number | string | Uint8Array | Map<number | string, Cbor>;

function cborHead(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** The subset of CBOR (RFC 8949) WebAuthn structures need: integers, byte and text strings, maps. */
export function encodeCbor(v: Cbor): Buffer {
  if (typeof v === 'number') return v >= 0 ? cborHead(0, v) : cborHead(1, -1 - v);
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([cborHead(3, b.length), b]);
  }
  if (v instanceof Uint8Array) return Buffer.concat([cborHead(2, v.length), v]);
  return Buffer.concat([cborHead(5, v.size), ...[...v].flatMap(([k, val]) => [encodeCbor(k), encodeCbor(val)])]);
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const b64url = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64url');

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

export interface SoftCredential {
  id: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  userHandle: string;
  rpId: string;
  counter: number;
}

interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}

interface RequestOptions {
  challenge: string;
  rpId?: string;
}

export interface SoftAuthenticatorOptions {
  /** The origin the "browser" reports in clientDataJSON. */
  origin: string;
  /** Signature counter step per use; 0 keeps the counter at 0 (like many platform authenticators). */
  counterStep?: number;
}

/**
 * A resident-key authenticator with user verification, like Chromium's virtual CTAP2 authenticator. `register` answers
 * creation options; `assert` answers request options with a chosen (or the only) credential. Overrides forge parts
 * of a response for abuse tests.
 */
export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  constructor(private readonly opts: SoftAuthenticatorOptions) {}

  register(options: CreationOptions, forge: { origin?: string; challenge?: string; rpId?: string } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const id = randomBytes(16);
    const rpId = forge.rpId ?? options.rp.id!;
    const cred: SoftCredential = { id: b64url(id), privateKey, publicKey, userHandle: options.user.id, rpId, counter: 0 };
    const cose = new Map<number, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([FLAG_UP | FLAG_UV | FLAG_AT]),
      Buffer.alloc(4),
      Buffer.alloc(16),
      idLen,
      id,
      encodeCbor(cose),
    ]);
    const attestationObject = encodeCbor(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    const clientDataJSON = JSON.stringify({
      type: 'webauthn.create',
      challenge: forge.challenge ?? options.challenge,
      origin: forge.origin ?? this.opts.origin,
      crossOrigin: false,
    });
    this.credentials.push(cred);
    return {
      credential: cred,
      response: {
        id: cred.id,
        rawId: cred.id,
        type: 'public-key' as const,
        clientExtensionResults: { credProps: { rk: true } },
        authenticatorAttachment: 'platform' as const,
        response: {
          clientDataJSON: b64url(Buffer.from(clientDataJSON)),
          attestationObject: b64url(attestationObject),
          transports: ['internal' as const],
        },
      },
    };
  }

  assert(
    options: RequestOptions,
    forge: {
      credential?: SoftCredential;
      origin?: string;
      challenge?: string;
      counter?: number;
      userHandle?: string | null;
      userVerified?: boolean;
    } = {},
  ) {
    const cred = forge.credential ?? this.credentials[0];
    if (!cred) throw new Error('no credential');
    if (forge.counter === undefined) cred.counter += this.opts.counterStep ?? 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(forge.counter ?? cred.counter);
    const flags = forge.userVerified === false ? FLAG_UP : FLAG_UP | FLAG_UV;
    const authData = Buffer.concat([sha256(options.rpId ?? cred.rpId), Buffer.from([flags]), counter]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.get',
        challenge: forge.challenge ?? options.challenge,
        origin: forge.origin ?? this.opts.origin,
        crossOrigin: false,
      }),
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.privateKey);
    const userHandle = forge.userHandle === null ? undefined : (forge.userHandle ?? cred.userHandle);
    return {
      id: cred.id,
      rawId: cred.id,
      type: 'public-key' as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle !== undefined ? { userHandle } : {}),
      },
    };
  }
}
