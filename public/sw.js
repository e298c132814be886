// The service worker: what makes edge-chat installable and lets a room's
// page open without a network. It keeps a copy of the pages' files (the
// room page itself is the same for every room: it reads the room from the
// address) and answers from it only when the network does not. The chat
// itself is a WebSocket, which never passes through here; what someone
// writes offline waits in the page's outbox until the room is back.
//
// Plain JavaScript, served as it is (no build): it must be at the root to
// control every page.

const CACHE = "edge-chat-v1";
/** What a page needs to open, fetched when the worker installs. The room
 * page is kept under /r/ (its shell: any room's address opens it). */
const SHELL = ["/", "/r/", "/style.css", "/js/home.js", "/js/room.js", "/favicon.svg", "/icon-192.png"];
const ROOM_SHELL = "/r/";

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await Promise.all(
        SHELL.map(async (path) => {
          // The room page's shell comes from a room's address ("/r/lobby"): the Worker serves it there.
          const response = await fetch(path === ROOM_SHELL ? "/r/lobby" : path, { cache: "no-cache" });
          if (response.ok) await cache.put(path, response);
        }),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // The API (history, files, the WebSocket) is never cached.
  if (request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  event.respondWith(networkFirst(request, url));
});

/** The network's answer (kept for next time), else the copy, else a plain 503. */
async function networkFirst(request, url) {
  const cache = await caches.open(CACHE);
  const room = request.mode === "navigate" && url.pathname.startsWith("/r/");
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") await cache.put(room ? ROOM_SHELL : request, response.clone());
    return response;
  } catch (error) {
    const copy = await cache.match(room ? ROOM_SHELL : request, { ignoreSearch: true });
    if (copy !== undefined) return room ? openedOffline(copy) : copy;
    if (request.mode === "navigate") return (await cache.match("/")) ?? Response.error();
    throw error;
  }
}

/** The room page's copy, marked (data-offline on its body) so that the page
 * says at once that it opened without a network: navigator.onLine is not
 * always told. */
async function openedOffline(copy) {
  const html = (await copy.text()).replace('<body class="room">', '<body class="room" data-offline>');
  return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
}
