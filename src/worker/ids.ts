/**
 * Random identifiers, from the platform's CSPRNG. Lower-case base32 (a–z, 2–7)
 * keeps them valid room names, URL-safe and unambiguous to read aloud.
 */

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** `length` base32 characters: 5 random bits each. */
export function randomId(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let id = "";
  // 256 is a multiple of 32, so taking each byte modulo 32 is unbiased.
  for (const byte of bytes) id += BASE32[byte & 31];
  return id;
}

/** A private room's name: 26 characters, 130 bits, itself a valid room name. */
export const newRoomId = (): string => randomId(26);
/** A user's public id within a room: 16 characters, 80 bits. */
export const newUserId = (): string => randomId(16);
/** A session token, the secret that re-claims an identity: 32 characters, 160 bits. */
export const newSessionToken = (): string => randomId(32);
/** A shared file's id, the secret part of its URL: 26 characters, 130 bits. */
export const newFileId = (): string => randomId(26);
/** A room's owner key, the secret that makes an identity its owner: 32 characters, 160 bits. */
export const newOwnerKey = (): string => randomId(32);
/** A ban's id, to lift it by: 16 characters. */
export const newBanId = (): string => randomId(16);
