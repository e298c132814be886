/**
 * The terminal's command help. The commands themselves are parsed by
 * src/shared/commands.ts, shared with the browser page.
 */

export const HELP = [
  "/nick NAME   rename yourself",
  '/me ACTION   send an action: /me waves shows as "* You waves"',
  "/send FILE   share a file with the room (a path; ~ is your home)",
  "/who         who is in the room",
  "/reply ID TEXT  answer message ID (see /ids on)",
  "/edit TEXT   change the text of your last message",
  "/react EMOJI [ID]  react to the newest message (or message ID); again takes it back",
  "/search WORDS      find messages with words that start so, newest first",
  "/delete [ID] delete your last message, or message ID (yours; moderators: anyone's below them)",
  "/ids on|off  show message ids (#42), for /delete ID",
  "/mod NICK    (owner) make NICK a moderator; /unmod NICK makes them a member again",
  "/kick NICK [REASON]            (moderators) remove NICK; they may come back after a minute",
  "/ban NICK [MINUTES] [REASON]   (moderators) remove NICK and keep them out (no minutes: for good)",
  "/bans, /unban ID               (moderators) the bans in force; lift one",
  "/modlog                        (moderators) who did what, newest first",
  "/newkey                        (owner) replace the owner key; old links stop working",
  "/clearhistory yes              (owner) delete every message and file, for everyone",
  "/topic [TEXT]                  the topic; (moderators) set it, /topic - clears it",
  "/lock, /unlock                 (moderators) only people who have been here can join",
  "/slow SECONDS                  (moderators) one message per SECONDS for members; 0 is off",
  "/files on|off, /calls on|off   (moderators) allow sharing files, joining the call",
  "/quit        leave (so do Ctrl-D and Ctrl-C)",
  "/help        this list",
  "A line starting with // sends a message starting with /.",
];
