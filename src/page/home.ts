/** The landing page: join a room by name, create a private one, or go back to a recent one. */
import { parseRoomName } from "../shared/protocol";
import { byId, el, setFieldError } from "./dom";
import { registerServiceWorker } from "./install";
import { recentRooms, saveOwnerKey } from "./store";

const joinForm = byId("join-form", HTMLFormElement);
const roomInput = byId("room", HTMLInputElement);
const roomError = byId("room-error", HTMLParagraphElement);
const createButton = byId("create", HTMLButtonElement);
const createError = byId("create-error", HTMLParagraphElement);

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const raw = roomInput.value.trim();
  const room = parseRoomName(raw);
  if (room === null) {
    const message =
      raw === "" ? "Enter a room name." : "Use 1–64 letters, digits, - or _, starting with a letter or digit.";
    setFieldError(roomInput, roomError, message);
    roomInput.focus();
    return;
  }
  location.assign(`/r/${room}`);
});

roomInput.addEventListener("input", () => setFieldError(roomInput, roomError, null));

createButton.addEventListener("click", async () => {
  createButton.disabled = true;
  createError.hidden = true;
  try {
    const response = await fetch("/api/rooms", { method: "POST" });
    if (response.status === 429) {
      const seconds = Number(response.headers.get("Retry-After")) || 60;
      createError.textContent = `Too many new rooms from your network just now; try again in ${seconds} s.`;
      createError.hidden = false;
      createButton.disabled = false;
      return;
    }
    if (!response.ok) throw new Error(`status ${response.status}`);
    const body: unknown = await response.json();
    const answer: Record<string, unknown> = typeof body === "object" && body !== null ? { ...body } : {};
    const url = answer.url;
    // Only ever follow a link to a room page of this site.
    const target = typeof url === "string" ? new URL(url, location.href) : null;
    if (target === null || target.origin !== location.origin || !target.pathname.startsWith("/r/")) {
      throw new Error("unexpected answer");
    }
    // The creator owns the room: the key stays on this device, for joining as its owner.
    if (typeof answer.room === "string" && typeof answer.ownerKey === "string")
      saveOwnerKey(answer.room, answer.ownerKey);
    location.assign(target.href);
  } catch {
    createError.textContent = "Could not create a room just now; please try again.";
    createError.hidden = false;
    createButton.disabled = false;
  }
});

const rooms = recentRooms();
if (rooms.length > 0) {
  const list = byId("recent-list", HTMLUListElement);
  for (const room of rooms) {
    const link = el("a", undefined, room);
    link.href = `/r/${room}`;
    const item = el("li");
    item.append(link);
    list.append(item);
  }
  byId("recent", HTMLElement).hidden = false;
}

// Coming back with the Back button restores the page as it was left.
addEventListener("pageshow", () => {
  createButton.disabled = false;
});

registerServiceWorker();
