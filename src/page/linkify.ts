/**
 * Message text with its http(s) links made clickable. Built from text nodes
 * and anchors whose text is set with textContent: never parsed as HTML.
 */
import { trimUrl } from "./trim-url";

/** A candidate link: up to the next space or character that never ends one. */
const CANDIDATE = /\bhttps?:\/\/[^\s<>"]+/gi;
function isWebUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** `text` as nodes to append to an element: strings for plain text, anchors for links. */
export function linkify(text: string): (string | HTMLAnchorElement)[] {
  const nodes: (string | HTMLAnchorElement)[] = [];
  let done = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const url = trimUrl(match[0]);
    if (!isWebUrl(url)) continue;
    if (match.index > done) nodes.push(text.slice(done, match.index));
    const link = document.createElement("a");
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    link.textContent = url;
    nodes.push(link);
    done = match.index + url.length;
  }
  if (done < text.length) nodes.push(text.slice(done));
  return nodes;
}
