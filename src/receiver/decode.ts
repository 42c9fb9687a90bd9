// Bytes → ConvertedRequest: the CPU-heavy half of an export, run inline or on a worker thread.
import { convertRequest, type ConvertedRequest } from '../convert/span-to-record.js';
import { InvalidInputError, TooLargeError } from '../errors.js';
import { decodeRequest, type Encoding } from './codec.js';

export type Decoder = (body: Uint8Array, enc: Encoding, receivedAt: Date) => Promise<ConvertedRequest>;

export function decodeAndConvert(body: Uint8Array, enc: Encoding, receivedAt: Date): ConvertedRequest {
  return convertRequest(decodeRequest(Buffer.from(body.buffer, body.byteOffset, body.byteLength), enc), receivedAt);
}

export const inlineDecoder: Decoder = async (body, enc, receivedAt) => decodeAndConvert(body, enc, receivedAt);

/** Typed errors cross a thread boundary as {name, message}; these are rebuilt as themselves. */
export const TRANSPORTABLE_ERRORS = { InvalidInputError, TooLargeError } as const;
