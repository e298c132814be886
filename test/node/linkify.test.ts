/**
 * The link trimming of the page's linkify (src/page/trim-url.ts): what is
 * part of a URL and what is the prose around it.
 */
import { describe, expect, it } from "vitest";
import { trimUrl } from "../../src/page/trim-url";

describe("trimUrl", () => {
  it.each([
    ["https://x.org.", "https://x.org"],
    ["https://x.org/a?b=c,", "https://x.org/a?b=c"],
    ["https://x.org/…", "https://x.org/"],
    ["https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)"],
    ["https://en.wikipedia.org/wiki/Foo_(bar))", "https://en.wikipedia.org/wiki/Foo_(bar)"],
    ["https://x.org/a)", "https://x.org/a"],
    ["https://x.org/[a]]].", "https://x.org/[a]"],
    ["https://x.org/{a}!?", "https://x.org/{a}"],
  ])("%s → %s", (raw, url) => {
    expect(trimUrl(raw)).toBe(url);
  });

  it("trims a URL followed by 200,000 closing brackets in one pass (a quadratic trim would not finish in time)", () => {
    expect(trimUrl(`https://x.org/(a)${")".repeat(200_000)}`)).toBe("https://x.org/(a)");
    expect(trimUrl(`https://x.org/${").".repeat(100_000)}`)).toBe("https://x.org/");
  });
});
