/**
 * The installable app: the service worker (public/sw.js) keeps the pages'
 * files so that a room opens without a network. Registered once the page
 * has loaded, so that it never competes with the page for the network.
 */
export function registerServiceWorker(): void {
  if (!("serviceWorker" in navigator)) return;
  addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch((error: unknown) => console.warn("service worker:", error));
  });
}
