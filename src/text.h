/* text.h: names made safe for what siprof writes.
 *
 * Thread names, the command line, symbol, file and module names come from a
 * process siprof does not trust (any process may name its threads), and
 * session files from anyone who could write them: none of them may reach a
 * terminal or a file format as they are. They are made safe where they are
 * written, not where they enter: a session written by an older siprof or by
 * hand holds raw names whatever the recorder does, each format needs its
 * own treatment, and the session keeps what the kernel said. Two
 * conversions, one per kind of output:
 *
 *   text_safe   for a terminal or a text file: control characters shown as
 *               escapes (\n, \t, \r, \xHH for the other C0 controls and DEL,
 *               \uHHHH for C1 controls, bidirectional controls, line and
 *               paragraph separators, U+FFFE and U+FFFF); invalid UTF-8
 *               replaced by U+FFFD. Valid UTF-8 and backslashes stay as they
 *               are. The result is also valid XML character data once <, >,
 *               & and quotes are escaped.
 *   text_utf8   for JSON and protobuf, which escape or carry control
 *               characters by their own rules but must be valid UTF-8:
 *               invalid UTF-8 replaced by U+FFFD, nothing else changed.
 *
 * Both return s itself when nothing needs changing (the usual case, no
 * copy); otherwise one of eight buffers of the calling thread, which stays
 * valid until eight more conversions there: enough for the names of one
 * printf. */
#ifndef SIPROF_TEXT_H
#define SIPROF_TEXT_H

const char *text_safe(const char *s);
const char *text_utf8(const char *s);
/* text_safe(s) in a new heap string (the caller frees it): for a thread
 * that ends, whose buffers would be lost. */
char *text_safe_dup(const char *s);

#endif
