/**
 * The room's search index: a full-text index (SQLite FTS5) of the words of
 * its messages, so that `search` finds messages by the start of their words,
 * case and accents aside. Its shape comes from the worst a room can hold
 * (HISTORY_RETENTION messages written by someone hostile), measured:
 *
 * - **Prefix indexes for 1 to 8 characters.** A query word is looked up in
 *   one of them, never expanded over every word it starts: a room can hold
 *   tens of thousands of different words that start alike, and expanding
 *   "aaaa" over them cost 100 ms a query (one-letter words, 40 ms, before
 *   there were prefix indexes). A longer query word is cut to its first 8
 *   characters, which at most finds a few more messages.
 * - **A message's different words, at most SEARCH_WORDS_PER_MESSAGE.** What
 *   an edit or a deletion costs the index grows with the words it takes out,
 *   so the bound on words is the bound on that work; repeats cost nothing.
 * - **Deleted means gone.** FTS5 only marks a deleted document, and its
 *   words stay in the index's pages until segments happen to merge; with
 *   `secure-delete` they are taken out in the transaction that stores the
 *   deletion. It is on for deletions and edits only: retention drops the
 *   oldest message on every message of a full room, and nobody asked for
 *   those words to go at once (they are unreachable anyway).
 * - A clear drops the index and makes it anew: taking out thousands of
 *   documents one by one would take seconds.
 *
 * The index keeps its own copy of the words (FTS5's content table), so
 * that it can take them out without reading anything else.
 */

import { MAX_SEARCH_WORDS } from "../shared/protocol";

/** The table, as migrations and clears create it. Never edit a shipped
 * migration's SQL: a change of shape is a new migration. */
export const CREATE_SEARCH_INDEX = `CREATE VIRTUAL TABLE search USING fts5(
  words, prefix='1 2 3 4 5 6 7 8', tokenize='unicode61 remove_diacritics 2'
)`;

/** The longest prefix the index has: longer query words are cut to it. */
export const INDEXED_PREFIX = 8;

/** Words as the index's tokenizer sees them (unicode61: letters, digits, marks). */
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** The different words of `text` (case aside), at most `max`, as the index
 * takes them: one string, in the order they first appear. */
export function indexedWords(text: string, max: number): string {
  const seen = new Set<string>();
  const words: string[] = [];
  for (const [word] of text.matchAll(WORD)) {
    const key = word.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    words.push(word);
    if (words.length === max) break;
  }
  return words.join(" ");
}

/**
 * The FTS5 query for what someone typed: each word as a prefix (cut to
 * INDEXED_PREFIX characters), repeats and words that another word of the
 * query already implies dropped ("a" goes beside "apple": a word starting
 * with "apple" starts with "a"), at most `maxWords`. null when there is no
 * word. Words hold only letters, digits and marks, so no FTS5 syntax gets
 * through.
 */
export function searchQuery(query: string, maxWords: number): string | null {
  const words: string[] = [];
  for (const [word] of query.matchAll(WORD)) {
    const cut = [...word].slice(0, INDEXED_PREFIX).join("").toLowerCase();
    if (!words.includes(cut)) words.push(cut);
  }
  const kept = words.filter((word) => !words.some((other) => other !== word && other.startsWith(word)));
  if (kept.length === 0) return null;
  return kept
    .slice(0, maxWords)
    .map((word) => `"${word}"*`)
    .join(" ");
}

/** How many lists of the index a search walks: one a word it keeps. */
export function searchLists(query: string): number {
  return searchQuery(query, MAX_SEARCH_WORDS)?.split(" ").length ?? 0;
}

/** The index's writes. Every call runs inside the caller's transaction. */
export class SearchIndex {
  readonly #sql: SqlStorage;
  /** Most words of one message that are indexed (SEARCH_WORDS_PER_MESSAGE). */
  readonly #maxWords: number;

  constructor(sql: SqlStorage, maxWords: number) {
    this.#sql = sql;
    this.#maxWords = maxWords;
  }

  /** Indexes a new message's text (a file's message has none). */
  add(id: number, text: string): void {
    const words = indexedWords(text, this.#maxWords);
    if (words !== "") this.#sql.exec("INSERT INTO search (rowid, words) VALUES (?, ?)", id, words);
  }

  /** A message was deleted: its words leave the index's pages now. */
  remove(id: number): void {
    this.#securely(() => this.#sql.exec("DELETE FROM search WHERE rowid = ?", id));
  }

  /** A message was edited: the old words leave the index's pages, the new ones come. */
  replace(id: number, text: string): void {
    this.remove(id);
    this.add(id, text);
  }

  /** Retention: messages up to `id` are no longer the room's. Called
   * before their rows go: they name the documents to drop, one by one (FTS5
   * scans its whole table for a range of rowids: 3 ms a message in a full
   * room, against 0.4 ms). */
  dropUpTo(id: number): void {
    this.#sql.exec("DELETE FROM search WHERE rowid IN (SELECT id FROM messages WHERE id <= ?)", id);
  }

  /** A clear: the index goes and comes back empty. */
  clear(): void {
    this.#sql.exec("DROP TABLE search");
    this.#sql.exec(CREATE_SEARCH_INDEX);
  }

  #securely(write: () => void): void {
    this.#sql.exec("INSERT INTO search (search, rank) VALUES ('secure-delete', 1)");
    write();
    this.#sql.exec("INSERT INTO search (search, rank) VALUES ('secure-delete', 0)");
  }
}
