/**
 * What the page's code loaded on demand (the call, the moderation dialogs)
 * gets from room.js rather than importing it: a chunk that imported these
 * modules would make esbuild split them into a chunk of their own, which
 * room.js would then have to load before it could start. Types only here.
 */
import type { modlogText, untilText } from "../core/session";
import type { canModerate, parseEmoji, quoteText } from "../shared/protocol";
import type { confirmAction } from "./confirm";
import type { byId, el, fetchPart } from "./dom";
import type { hue } from "./log";

export interface Kit {
  byId: typeof byId;
  el: typeof el;
  fetchPart: typeof fetchPart;
  hue: typeof hue;
  confirmAction: typeof confirmAction;
  modlogText: typeof modlogText;
  untilText: typeof untilText;
  canModerate: typeof canModerate;
  parseEmoji: typeof parseEmoji;
  quoteText: typeof quoteText;
}
