/*
 * util.c - allocation, strings, paths and files (see util.h).
 */
#include "fusion/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
xoom(void)
{
	fputs("fusion: out of memory\n", stderr);
	exit(70);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		xoom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		xoom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		xoom();
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		xoom();
	return xrealloc(p, n * size);
}

void *
xgrowarray(void *v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return v;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	*cap = c;
	return xreallocarray(v, c, size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	n = strnlen(s, n);	/* as strndup: never past the string's end */
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct fx_buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b);
}

void
buf_grow(struct fx_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void
buf_add(struct fx_buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
buf_puts(struct fx_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_putc(struct fx_buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_vprintf(struct fx_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;

	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_printf(struct fx_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
buf_json_str(struct fx_buf *b, const char *s)
{
	const unsigned char *end = (const unsigned char *)s + strlen(s);

	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20) {
				buf_printf(b, "\\u%04x", *p);
			} else if (*p < 0x80) {
				buf_putc(b, (char)*p);
			} else {
				/* JSON is UTF-8: a byte that is not (a file name in
				 * Latin-1) becomes U+FFFD, as Go's encoder does. */
				uint32_t cp;
				size_t n = utf8_len(p, (size_t)(end - p), &cp);
				if (n == 0) {
					buf_puts(b, "\xef\xbf\xbd");
					continue;
				}
				buf_add(b, p, n);
				p += n - 1;
			}
		}
	}
	buf_putc(b, '"');
}

void
buf_reset(struct fx_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

char *
buf_first_line(const struct fx_buf *b, const char *fallback)
{
	const char *s = b->len ? b->s : "";
	while (*s == '\n' || *s == '\r')
		s++;
	return *s ? xstrndup(s, strcspn(s, "\r\n")) : xstrdup(fallback);
}

void
buf_free(struct fx_buf *b)
{
	free(b->s);
	*b = (struct fx_buf){0};
}

char *
buf_detach(struct fx_buf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	*b = (struct fx_buf){0};
	return s;
}

void
strv_take(struct fx_strv *sv, char *s)
{
	/* Keep one spare slot so strv_argv can NULL-terminate in place. */
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = xreallocarray(sv->v, sv->cap, sizeof(*sv->v));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void
strv_push(struct fx_strv *sv, const char *s)
{
	strv_take(sv, xstrdup(s));
}

void
strv_free(struct fx_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	*sv = (struct fx_strv){0};
}

bool
strv_has(const struct fx_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

char **
strv_argv(struct fx_strv *sv)
{
	if (!sv->v)
		strv_take(sv, NULL), sv->n = 0;
	return sv->v;
}

char *
path_join(const char *a, const char *b)
{
	if (b[0] == '/' || !a || !a[0])
		return path_clean(b);
	char *j = xasprintf("%s/%s", a, b);
	char *r = path_clean(j);
	free(j);
	return r;
}

/* Lexical cleaning. For absolute paths ".." is resolved; for relative ones
 * leading ".." components are kept. */
char *
path_clean(const char *p)
{
	size_t n = strlen(p);
	bool abs = p[0] == '/';
	char *out = xmalloc(n + 2);
	size_t o = 0;
	size_t floor = 0;	/* output position that ".." may not pop below */

	if (abs)
		out[o++] = '/';
	floor = o;
	for (size_t i = 0; i < n;) {
		while (i < n && p[i] == '/')
			i++;
		size_t s = i;
		while (i < n && p[i] != '/')
			i++;
		size_t len = i - s;
		if (len == 0 || (len == 1 && p[s] == '.'))
			continue;
		if (len == 2 && p[s] == '.' && p[s + 1] == '.') {
			if (o > floor) {
				while (o > floor && out[o - 1] != '/')
					o--;
				if (o > floor)
					o--;	/* the slash */
				if (o < floor)
					o = floor;
				continue;
			}
			if (abs)
				continue;
			/* relative path: keep the "..", and never pop it */
			if (o > 0 && out[o - 1] != '/')
				out[o++] = '/';
			out[o++] = '.';
			out[o++] = '.';
			floor = o;
			continue;
		}
		if (o > 0 && out[o - 1] != '/')
			out[o++] = '/';
		memcpy(out + o, p + s, len);
		o += len;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

char *
path_dir(const char *p)
{
	const char *slash = strrchr(p, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == p)
		return xstrdup("/");
	return xstrndup(p, (size_t)(slash - p));
}

const char *
path_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return p[0] == '/' ? p + 1 : NULL;
	if (strncmp(p, dir, n) != 0)
		return NULL;
	if (p[n] == '\0')
		return p + n;
	if (p[n] == '/')
		return p + n + 1;
	return NULL;
}

char *
path_find_up(const char *start, const char *const *names, size_t nnames,
    bool (*ok)(const char *path))
{
	char *dir = xstrdup(start);

	for (;;) {
		for (size_t i = 0; i < nnames; i++) {
			char *p = path_join(dir, names[i]);
			if (ok(p)) {
				free(dir);
				return p;
			}
			free(p);
		}
		if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
			break;
		char *up = path_dir(dir);
		free(dir);
		dir = up;
	}
	free(dir);
	return NULL;
}

bool
path_gone(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

int
mkdir_p(const char *path, unsigned mode)
{
	/* Mostly the directory or its parent is there already (a log or an
	 * artifact per node): one call, not one per component. */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int r = mkdir(p, mode);
	free(p);
	return r < 0 && errno != EEXIST ? -1 : 0;
}

int
read_fd(int fd, size_t max, char **data, size_t *len)
{
	struct fx_buf b = {0};
	struct stat st;

	/* Sized by fstat when it knows (a file): many small files are read
	 * and kept (image IDs, values, ignore rules), and a fixed 64 KB of
	 * room each, kept with them, came to 128 KB a node. */
	buf_grow(&b, fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : 4096);
	for (;;) {
		if (b.cap - b.len - 1 < 1024)
			buf_grow(&b, b.cap);
		/* Ask for no more than one byte past the limit: that byte is
		 * enough to know the file is too large. */
		size_t want = b.cap - b.len - 1;
		if (max < SIZE_MAX && want > max + 1 - b.len)
			want = max + 1 - b.len;
		ssize_t r = read(fd, b.s + b.len, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			buf_free(&b);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		b.len += (size_t)r;
		if (b.len > max) {
			buf_free(&b);
			errno = EFBIG;
			return -1;
		}
	}
	b.s[b.len] = '\0';
	if (b.cap - b.len > 4096)	/* grown for a pipe, say: keep what is used */
		b.s = xrealloc(b.s, b.len + 1);
	*len = b.len;
	*data = b.s;
	return 0;
}

int
read_file(const char *path, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = read_fd(fd, SIZE_MAX, data, len);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int
write_file_atomic(const char *path, const void *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			unlink(tmp);
			free(tmp);
			errno = e;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	return 0;
}

void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int64_t
ts_ns(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_ns(ts);
}

double
now_wall(void)
{
	return (double)now_ns() / 1e9;
}

double
now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
ms_until(double deadline)
{
	double ms = (deadline - now_mono()) * 1000;

	if (ms <= 0)
		return 0;
	return ms >= 2e9 ? 2000000000 : (int)ms + ((double)(int)ms < ms);
}

int
cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

size_t
utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0)
		len = 2, c &= 0x1F, min = 0x80;
	else if ((c & 0xF0) == 0xE0)
		len = 3, c &= 0x0F, min = 0x800;
	else if ((c & 0xF8) == 0xF0)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/* A byte or sequence buf_put_name must escape: a control character, '"',
 * '\\' or what is not UTF-8. Returns the length of a plain one, 0 else. */
static size_t
plain_len(const unsigned char *p, size_t left)
{
	uint32_t cp;

	if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
		return 0;
	if (*p < 0x80)
		return 1;
	return utf8_len(p, left, &cp);
}

bool
name_is_plain(const char *s)
{
	size_t left = strlen(s), n;

	for (const unsigned char *p = (const unsigned char *)s; left; p += n, left -= n)
		if ((n = plain_len(p, left)) == 0)
			return false;
	return true;
}

void
buf_put_name(struct fx_buf *b, const char *s)
{
	size_t left = strlen(s), n;

	if (name_is_plain(s)) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; left; p += n, left -= n) {
		if ((n = plain_len(p, left)) > 0) {
			buf_add(b, p, n);
			continue;
		}
		n = 1;
		switch (*p) {
		case '\n': buf_puts(b, "\\n"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		default: buf_printf(b, "\\x%02x", *p);
		}
	}
	buf_putc(b, '"');
}

/* ---- did you mean ---- */

size_t
str_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b);
	enum { MAX = 64 };
	size_t rows[3][MAX + 1];

	if (la > MAX || lb > MAX)	/* nobody mistypes a key that long */
		return SIZE_MAX;
	size_t *pp = rows[0], *p = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= lb; j++)
		p[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		size_t rowmin = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t d = p[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (p[j - 1] + cost < d)
				d = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			cur[j] = d;
			if (d < rowmin)
				rowmin = d;
		}
		if (rowmin > max)	/* it only grows from here */
			return rowmin;
		size_t *t = pp;
		pp = p, p = cur, cur = t;
	}
	return p[lb];
}

const char *
str_closest(const char *word, const char *const *cands, size_t n)
{
	size_t len = strlen(word);
	size_t limit = (len + 2) / 3;
	const char *best = NULL;
	size_t bestd = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(cands[i]);
		if ((lc > len ? lc - len : len - lc) > limit)
			continue;	/* too different in length to be close */
		size_t d = str_distance(word, cands[i], limit);
		if (d < bestd)
			bestd = d, best = cands[i];
	}
	if (!best || bestd == 0 || bestd > limit || bestd >= len)
		return NULL;
	return best;
}
