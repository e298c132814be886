/**
 * The call's entry on the page: the Join button and who is in the call (the
 * roster's badges) come from the client core's CallMembers, and the WebRTC
 * code (call.ts and call-view.ts, about a third of the page's script) loads
 * the first time someone joins. Until then there is nothing else to do: only
 * people in the call get `signal` frames, and the call's own notices ("Ana
 * joined the call") come from the session.
 */
import type { CallInfo, CallNoticeFrame, CallState, SignalNoticeFrame, User } from "../shared/protocol";
import type { CallMembers } from "../core/call-members";
import type { Call, CallEvents } from "./call";
import type { CallView, CallViewParts } from "./call-view";
import type { Kit } from "./kit";

export class CallEntry {
  readonly #members: CallMembers;
  readonly #events: CallEvents;
  readonly #parts: CallViewParts & { join: HTMLButtonElement };
  #loaded: { call: Call; view: CallView } | null = null;
  #loading = false;
  #me: User | null = null;
  #info: CallInfo | undefined;

  readonly #kit: Kit;

  constructor(members: CallMembers, events: CallEvents, parts: CallViewParts & { join: HTMLButtonElement }, kit: Kit) {
    this.#kit = kit;
    this.#members = members;
    this.#events = events;
    this.#parts = parts;
    parts.join.addEventListener("click", () => void this.#join());
  }

  /** A welcome: who we are and the call's settings (its members are the core's). */
  welcome(me: User, info: CallInfo | undefined): void {
    this.#me = me;
    this.#info = info;
    if (this.#loaded === null) this.#events.changed();
    else this.#loaded.call.welcome(me, info);
  }

  onCallFrame(frame: CallNoticeFrame): void {
    if (this.#loaded === null) this.#events.changed();
    else this.#loaded.call.onCallFrame(frame);
  }

  onSignal(frame: SignalNoticeFrame): void {
    void this.#loaded?.call.onSignal(frame);
  }

  onLeft(user: User): void {
    if (this.#loaded === null) this.#events.changed();
    else this.#loaded.call.onLeft(user);
  }

  onRenamed(user: User): void {
    if (user.id === this.#me?.id) this.#me = user;
    this.#loaded?.call.onRenamed(user);
  }

  /** What someone sends, for the roster's badge. */
  stateOf(id: string): CallState | undefined {
    return this.#loaded?.call.stateOf(id) ?? this.#members.get(id)?.state;
  }

  leave(): void {
    this.#loaded?.call.leave();
  }

  /** The Join button, then (once loaded) the call's panel. `joined`: we are in the room. */
  render(joined: boolean): void {
    const { join } = this.#parts;
    const others = this.#members.others(this.#me?.id);
    join.hidden = (this.#loaded?.call.state ?? null) !== null || !joined;
    join.textContent = others > 0 ? `Join call (${others})` : "Start a call";
    this.#loaded?.view.render();
  }

  async #join(): Promise<void> {
    if (this.#loading) return;
    const { join } = this.#parts;
    join.disabled = this.#loading = true;
    try {
      this.#loaded ??= await this.#load();
      if (this.#loaded !== null) await this.#loaded.call.join();
    } finally {
      join.disabled = this.#loading = false;
    }
  }

  async #load(): Promise<{ call: Call; view: CallView } | null> {
    let code: typeof import("./call-view");
    try {
      [code] = await Promise.all([import("./call-view"), loadStyles("/call.css")]);
    } catch {
      this.#events.problem("Could not load the call. Check your connection, then try again.");
      return null;
    }
    // The chunk gets the page's helpers rather than importing them, so it
    // shares no module with room.js and loads as one file.
    const loaded = code.openCall(this.#members, this.#events, this.#parts, this.#kit);
    if (this.#me !== null) loaded.call.welcome(this.#me, this.#info);
    return loaded;
  }
}

/** Adds a stylesheet to the page; resolves once it applies. */
function loadStyles(href: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.addEventListener("load", () => resolve());
    link.addEventListener("error", () => reject(new Error(`${href} did not load`)));
    document.head.append(link);
  });
}
