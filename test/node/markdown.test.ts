/** The Markdown subset both clients draw (src/shared/markdown.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseMarkdown, parseSpans, plainText } from "../../src/shared/markdown";

const text = (value: string) => ({ kind: "text", text: value });

describe("Markdown", () => {
  it("reads bold, italic, code and code blocks", () => {
    expect(parseSpans("*bold* and _it_ and `c*o*de`")).toEqual([
      { kind: "bold", children: [text("bold")] },
      text(" and "),
      { kind: "italic", children: [text("it")] },
      text(" and "),
      { kind: "code", text: "c*o*de" },
    ]);
    expect(parseSpans("*a _b_ c*")).toEqual([
      { kind: "bold", children: [text("a "), { kind: "italic", children: [text("b")] }, text(" c")] },
    ]);
    expect(parseMarkdown("before\n```js\nlet x = 1;\n\nlet y;\n```\nafter")).toEqual([
      { kind: "text", spans: [text("before")] },
      { kind: "code", text: "let x = 1;\n\nlet y;" },
      { kind: "text", spans: [text("after")] },
    ]);
  });

  it("leaves ordinary text alone: arithmetic, snake_case, lone marks, links, escapes", () => {
    for (const plain of [
      "2*3*4",
      "snake_case_name",
      "** nothing **",
      "`unclosed",
      "a * b * c",
      "see https://example.com/_private_/x*y*",
      "mail@ana.example",
    ])
      expect(parseSpans(plain), plain).toEqual([text(plain)]);
    expect(parseSpans("\\*not bold\\* \\_nor\\_ \\`code\\`")).toEqual([text("*not bold* _nor_ `code`")]);
  });

  it("never loses or adds a character of text (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", " ", "*", "_", "`", "\\", "\n", "é", "😀") }), (input) => {
        const back = plainText(parseMarkdown(input));
        // Only marks (and the backslash of an escape, and a fence's lines) go.
        const letters = (value: string) => value.replace(/[*_`\\\n]/g, "");
        expect(letters(back)).toBe(letters(input));
      }),
      { numRuns: 300 },
    );
  });
});
