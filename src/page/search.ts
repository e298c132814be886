/**
 * Searching the room: a dialog with a search box; the room answers with
 * the newest matching messages (`results`), shown with the words that
 * matched marked and a "Jump to" that opens the conversation there. More
 * results come a page at a time. Loaded the first time someone searches,
 * with the page's helpers (kit.ts).
 */
import type { RoomSession } from "../core/session";
import type { MessageFrame, ResultsFrame } from "../shared/protocol";
import type { Kit } from "./kit";

const SEARCHING = "Searching…";

/** Lower case, accents off: how the room's index compares words. */
const fold = (word: string): string => word.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** `text` with each word that starts with one of `query`'s words in a <mark>. */
export function marked(text: string, query: string, el: Kit["el"]): (string | HTMLElement)[] {
  const wanted = (query.match(WORD) ?? []).map(fold);
  const nodes: (string | HTMLElement)[] = [];
  let last = 0;
  for (const match of text.matchAll(WORD)) {
    if (!wanted.some((word) => fold(match[0]).startsWith(word))) continue;
    nodes.push(text.slice(last, match.index), el("mark", undefined, match[0]));
    last = match.index + match[0].length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

export function setUpSearch(
  session: RoomSession,
  jumpTo: (id: number) => void,
  showNotice: (text: string) => void,
  { byId, el }: Kit,
): { open(query?: string): void; results(frame: ResultsFrame): void; refused(why: string): void } {
  const dialog = byId("search-dialog", HTMLDialogElement);
  const form = byId("search-form", HTMLFormElement);
  const input = byId("search-query", HTMLInputElement);
  const list = byId("search-results", HTMLOListElement);
  const status = byId("search-status", HTMLElement);
  const more = byId("search-more", HTMLButtonElement);
  let asked = "";
  let oldest: number | undefined;

  const ask = (query: string, before?: number): void => {
    if (!session.search(query, before)) return showNotice("Not connected: search once the room is back.");
    asked = query;
    status.textContent = SEARCHING;
    more.hidden = true;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = input.value.trim();
    if (query === "") return;
    list.replaceChildren();
    ask(query);
  });
  more.addEventListener("click", () => ask(asked, oldest));
  byId("search-close", HTMLButtonElement).addEventListener("click", () => dialog.close());
  list.addEventListener("click", (event) => {
    const id =
      event.target instanceof HTMLElement ? event.target.closest<HTMLElement>("[data-jump]")?.dataset.jump : "";
    if (!id) return;
    dialog.close();
    jumpTo(Number(id));
  });

  const item = (message: MessageFrame, query: string): HTMLLIElement => {
    const entry = el("li", "result");
    const meta = el("p", "meta");
    const when = new Date(message.ts).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    meta.append(el("span", "sender", message.from.nick), " ", el("time", undefined, when));
    const jump = el("button", "ghost", "Jump to");
    jump.type = "button";
    jump.dataset.jump = String(message.id);
    jump.setAttribute("aria-label", `Jump to ${message.from.nick}'s message of ${when}`);
    meta.append(jump);
    const text = el("p", "text");
    text.append(...marked(message.text, query, el));
    entry.append(meta, text);
    return entry;
  };

  return {
    open(query) {
      if (query !== undefined) {
        input.value = query;
        list.replaceChildren();
        ask(query);
      }
      if (!dialog.open) dialog.showModal();
      input.focus();
    },
    // An error while a search waits: most likely its refusal (the room is busy).
    refused(why) {
      if (status.textContent === SEARCHING) status.textContent = why;
    },
    results(frame) {
      if (frame.query !== asked) return;
      list.append(...frame.messages.map((message) => item(message, frame.query)));
      oldest = frame.messages.at(-1)?.id;
      const count = list.childElementCount;
      status.textContent =
        count === 0 ? `Nothing found for "${frame.query}".` : `${count} message${count === 1 ? "" : "s"} found.`;
      more.hidden = frame.complete === true || oldest === undefined;
    },
  };
}
