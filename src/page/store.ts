/**
 * What the pages remember: in localStorage the last nickname, the rooms
 * visited recently, the owner key of each room this browser owns and the last
 * message read in each room; in sessionStorage (this tab only) the unsent text of each
 * room's composer. Storage may be unavailable (private modes, disabled
 * cookies) or hold anything, so every read is checked and every failure ignored.
 */
import { parseRoomName } from "../shared/protocol";

const NICK_KEY = "edge-chat:nick";
const RECENT_KEY = "edge-chat:recent-rooms";
const MAX_RECENT = 8;

const DRAFT_KEY = "edge-chat:draft:";
const OWNER_KEY = "edge-chat:owner-key:";

function read(key: string, storage: () => Storage = () => localStorage): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string, storage: () => Storage = () => localStorage): void {
  try {
    if (value === "") storage().removeItem(key);
    else storage().setItem(key, value);
  } catch {
    // Not remembered this time.
  }
}

export const savedNick = (): string => read(NICK_KEY) ?? "";

export const saveNick = (nick: string): void => write(NICK_KEY, nick);

/** Recently visited rooms, most recent first. */
export function recentRooms(): string[] {
  let value: unknown;
  try {
    value = JSON.parse(read(RECENT_KEY) ?? "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const rooms = value.map((item) => (typeof item === "string" ? parseRoomName(item) : null));
  return [...new Set(rooms.filter((room) => room !== null))].slice(0, MAX_RECENT);
}

export function rememberRoom(room: string): void {
  const rooms = [room, ...recentRooms().filter((other) => other !== room)].slice(0, MAX_RECENT);
  write(RECENT_KEY, JSON.stringify(rooms));
}

/** The text left in a room's composer, kept across reloads of this tab. */
export const savedDraft = (room: string): string => read(DRAFT_KEY + room, () => sessionStorage) ?? "";

export const saveDraft = (room: string, text: string): void => write(DRAFT_KEY + room, text, () => sessionStorage);

/** The owner key of `room`, kept on this device for the owner link ("" to forget it). */
export const savedOwnerKey = (room: string): string | undefined => read(OWNER_KEY + room) || undefined;
export const saveOwnerKey = (room: string, key: string): void => write(OWNER_KEY + room, key);

const READ_KEY = "edge-chat:last-read:";

/** The newest message of `room` read on this device (shown at the end of the list while the tab was visible). */
export function savedLastRead(room: string): number | undefined {
  const id = Number(read(READ_KEY + room));
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}
export const saveLastRead = (room: string, id: number): void => write(READ_KEY + room, String(id));
