/**
 * The few DOM helpers both pages share. Every user-supplied string reaches the
 * page through `textContent`, never as HTML.
 */

/** The element with this id, checked to be of the expected kind. */
export function byId<T extends HTMLElement>(id: string, kind: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`#${id} is missing or is not a ${kind.name}.`);
  return element;
}

/** A new element with an optional class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className !== undefined) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Markup of our own (public/parts/), for code loaded on demand: parsed
 * inert (a DOMParser document runs nothing), its elements ready to insert. */
export async function fetchPart(path: string): Promise<Element[]> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return [...new DOMParser().parseFromString(await response.text(), "text/html").body.children];
}

/** Shows `message` as the error of `input` (its aria-describedby target), or clears it with null. */
export function setFieldError(input: HTMLInputElement, output: HTMLElement, message: string | null): void {
  output.textContent = message ?? "";
  output.hidden = message === null;
  if (message === null) input.removeAttribute("aria-invalid");
  else input.setAttribute("aria-invalid", "true");
}
