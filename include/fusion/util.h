/*
 * util.h - small helpers every module uses: checked allocation, growable
 * strings and string vectors, paths, whole-file reads, hex.
 *
 * Allocation failure is the one thing fusion does not recover from: the
 * x* functions print "fusion: out of memory" and exit(70).  Everything else
 * returns a status to its caller.
 */
#ifndef FUSION_UTIL_H
#define FUSION_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FX_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Report "out of memory" and exit(70): for allocators other than these. */
_Noreturn void xoom(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* xreallocarray grows an array of n elements of size bytes, checking overflow. */
void *xreallocarray(void *p, size_t n, size_t size);
/* Make room for `need` elements of `size` bytes in v, whose room is *cap
 * (doubling, from 64): the array, perhaps moved. */
void *xgrowarray(void *v, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
/* As strndup: at most n bytes of s, never past its NUL. */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable NUL-terminated byte string. Zero-initialise before use. */
struct fx_buf {
	char *s;
	size_t len, cap;
};

void buf_grow(struct fx_buf *b, size_t extra);
void buf_add(struct fx_buf *b, const void *p, size_t n);
void buf_puts(struct fx_buf *b, const char *s);
void buf_putc(struct fx_buf *b, char c);
void buf_printf(struct fx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct fx_buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal (with quotes); bytes that are not
 * UTF-8 become U+FFFD, so the output is valid JSON whatever a file name holds. */
void buf_json_str(struct fx_buf *b, const char *s);
void buf_reset(struct fx_buf *b);
void buf_free(struct fx_buf *b);
/* The first non-empty line of b (a tool's complaint, for a one-line
 * message), malloc'ed; `fallback` if there is none. */
char *buf_first_line(const struct fx_buf *b, const char *fallback);
/* A file name as one line a terminal shows plainly: as it is when it is
 * printable UTF-8 without '"' or '\\', else in double quotes with C
 * escapes ("new\\nline.txt", "caf\\xe9.txt"), as git quotes odd paths.
 * name_is_plain: is s shown as it is? */
void buf_put_name(struct fx_buf *b, const char *s);
bool name_is_plain(const char *s);
/* Hand the string over to the caller (never NULL) and reset b. */
char *buf_detach(struct fx_buf *b);

/* A growable vector of owned strings. Zero-initialise before use. */
struct fx_strv {
	char **v;
	size_t n, cap;
};

void strv_push(struct fx_strv *sv, const char *s);   /* copies s */
void strv_take(struct fx_strv *sv, char *s);         /* takes ownership of s */
void strv_free(struct fx_strv *sv);
bool strv_has(const struct fx_strv *sv, const char *s);
/* NULL-terminated argv view for exec; valid until the vector changes. */
char **strv_argv(struct fx_strv *sv);

/* Join two paths; b absolute wins. The result is path_clean()ed: "." and
 * duplicate slashes go, ".." is resolved lexically (symlinks are not looked
 * at: use realpath for that). */
char *path_join(const char *a, const char *b);
/* The directory part of p ("." for a bare name). */
char *path_dir(const char *p);
/* If p lies inside dir (both absolute, normalised), the part after "dir/",
 * "" when equal; else NULL. Returned pointer points into p. */
const char *path_under(const char *p, const char *dir);
/* Lexically normalise a path, absolute or relative, without touching the
 * file system: "." and duplicate slashes go, ".." removes the component
 * before it. Above the root ".." is dropped ("/.." is "/"); a relative
 * path keeps the ".." it cannot resolve ("../a/../b" is "../b"); an empty
 * result is ".". */
char *path_clean(const char *p);
/* Look for each of `names` (in order) in `start`, then in each parent up
 * to "/": the first path for which `ok` is true (malloc'ed), or NULL. */
char *path_find_up(const char *start, const char *const *names, size_t nnames,
    bool (*ok)(const char *path));
/* Is the path surely gone: lstat fails with ENOENT or ENOTDIR? Other
 * failures (EACCES, ELOOP, ...) may pass, so they do not count. */
bool path_gone(const char *path);
/* mkdir -p; returns 0 or -1 with errno. */
int mkdir_p(const char *path, unsigned mode);

/* Read a whole file; NUL-terminates. Returns 0, or -1 with errno set. */
int read_file(const char *path, char **data, size_t *len);
/* Read fd to its end, but never more than max + 1 bytes: past max it stops
 * and fails with EFBIG (a file that grew, a device that never ends). Same
 * result as read_file otherwise. max = SIZE_MAX: no limit. */
int read_fd(int fd, size_t max, char **data, size_t *len);
/* Write data atomically (temp file + rename), mode 0600 (every caller
 * writes into the state directory: statedir.h). Returns 0 or -1 with errno. */
int write_file_atomic(const char *path, const void *data, size_t len);

void hex_encode(const unsigned char *in, size_t n, char *out); /* out: 2n+1 */

/* A timespec (a stat time, a clock) in nanoseconds since the epoch. */
int64_t ts_ns(struct timespec ts);
/* now_ns: the wall clock (CLOCK_REALTIME) in nanoseconds since the epoch;
 * now_wall: the same in seconds; now_mono: the monotonic clock in seconds
 * (for durations and deadlines). */
int64_t now_ns(void);
double now_wall(void);
double now_mono(void);
/* Milliseconds from now (now_mono) until `deadline`, rounded up; 0 if it
 * has passed. A poll(2) timeout. */
int ms_until(double deadline);

/* Number of online CPUs, at least 1. */
int cpu_count(void);

/* The length of the UTF-8 sequence at s (n > 0 bytes left), its code point
 * in *cp; 0 if it is not valid UTF-8 (overlong, a surrogate, past
 * U+10FFFF, cut short). */
size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp);

/* Levenshtein distance with transpositions (optimal string alignment);
 * once it is sure to exceed max it returns early with some larger value. */
size_t str_distance(const char *a, const char *b, size_t max);
/* "Did you mean": the candidate closest to word when it is close enough to
 * be a likely typo (at most a third of its letters wrong), else NULL. One
 * helper for the catalog's keys and names and the command line's commands,
 * options, services and nodes. */
const char *str_closest(const char *word, const char *const *cands, size_t n);

#endif
