/*
 * remote.c - the shared cache's protocol and back-ends (see remote.h).
 *
 * One struct xfer per transfer. HTTP transfers are libcurl easy handles in
 * one multi handle; file:// transfers are a pair of descriptors moved 1 MiB
 * per remote_wait(). Either way a transfer ends in end(), which puts it on
 * the `ended` list; remote_wait() calls back from there, so a callback may
 * start new transfers without disturbing the lists being walked.
 */
#include "fusion/remote.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1 << 20)		/* file:// bytes per remote_wait() */
#define MEM_MAX (1 << 20)	/* default limit of a GET into memory */

/* Bytes per second: a transfer slower than this for the whole of the
 * timeout is given up. Any link a cache is worth using on is far faster;
 * a server that sends a byte now and then would otherwise hold a node
 * (and `up`) for hours. */
#define MIN_RATE 1024

struct xfer {
	struct fx_remote *r;
	struct fx_remote_req req;	/* strings copied below */
	char *area, *name, *path, *sha256, *label;
	char *where;			/* the object's URL, as messages show it */
	uint64_t max;			/* GET: most bytes accepted */
	uint64_t moved, total;
	double started;

	int fd;				/* GET: the file written; PUT: the file read */
	struct fx_buf mem;		/* GET into memory */
	size_t off;			/* PUT from memory */
	EVP_MD_CTX *md;			/* GET with an expected digest */
	int err;			/* errno of a local read or write */
	bool too_big;
	char *refused;			/* a redirect to another origin, not followed */
	bool made;			/* GET: the file is a regular file we (re)wrote */

	CURL *easy;			/* http */
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];

	int obj;			/* file://: the object (GET) or the temporary
					 * object (PUT) */
	char *tmp;			/* file://: PUT writes here, then renames */
	char *final;

	enum fx_remote_status status;
	char *msg;
	struct xfer *next;
};

struct fx_remote {
	char *base;			/* the URL, no trailing slash */
	char *shown;			/* ... without credentials */
	char *dir;			/* file:// */
	char *header;			/* "Name: value"; never printed */
	long connect_ms, timeout_ms;
	uint64_t max_blob;		/* the most bytes of a GET into a file */
	CURLM *multi;
	struct xfer *active, *ended, **ended_tail;
	size_t nactive, nended;
};

/* ---- digests ---- */

void
sha256_hex(const void *data, size_t len, char out[FX_SHA256_HEX])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
	hex_encode(d, n, out);
}

static void
md_hex(EVP_MD_CTX *md, char out[FX_SHA256_HEX])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(md, d, &n);
	hex_encode(d, n, out);
}

int
sha256_file(const char *path, char out[FX_SHA256_HEX], uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	ssize_t k;

	if (fd < 0)
		return -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	buf = xmalloc(CHUNK);
	*size = 0;
	while ((k = read(fd, buf, CHUNK)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)k);
		*size += (uint64_t)k;
	}
	int e = errno;
	if (k == 0)
		md_hex(md, out);
	EVP_MD_CTX_free(md);
	free(buf);
	close(fd);
	errno = e;
	return k == 0 ? 0 : -1;
}

void
remote_ac_name(const char *id, const char *key, char out[FX_SHA256_HEX])
{
	struct fx_buf b = {0};

	buf_add(&b, "fusion-ac-1", sizeof "fusion-ac-1");	/* with its NUL */
	buf_add(&b, id, strlen(id) + 1);
	buf_puts(&b, key);
	sha256_hex(b.s, b.len, out);
	buf_free(&b);
}

void
remote_format_bytes(uint64_t n, char *out, size_t outlen)
{
	if (n < 1000)
		snprintf(out, outlen, "%" PRIu64 " B", n);
	else if (n < 1000000)
		snprintf(out, outlen, "%.1f kB", (double)n / 1e3);
	else if (n < 1000000000)
		snprintf(out, outlen, "%.1f MB", (double)n / 1e6);
	else
		snprintf(out, outlen, "%.2f GB", (double)n / 1e9);
}

/* ---- the record ---- */

static bool
one_line(const char *s)
{
	return s && *s && !strpbrk(s, "\n\r");
}

int
remote_record_format(const struct fx_remote_record *rec, struct fx_buf *out)
{
	if (!one_line(rec->node) || !one_line(rec->output) || !one_line(rec->output_hash))
		return -1;
	buf_printf(out, "fusion-ac 1\nnode %s\noutput %s\noutput-hash %s\nblob %s %" PRIu64 "\n",
	    rec->node, rec->output, rec->output_hash, rec->blob, rec->size);
	return 0;
}

static bool
is_sha256(const char *s, size_t n)
{
	if (n != FX_SHA256_HEX - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int
parse_blob(const char *v, struct fx_remote_record *rec)
{
	const char *sp = strchr(v, ' ');
	char *end;

	if (!sp || !is_sha256(v, (size_t)(sp - v)) || sp[1] < '0' || sp[1] > '9')
		return -1;
	errno = 0;
	unsigned long long size = strtoull(sp + 1, &end, 10);
	if (errno || *end || size > (1ULL << 53))
		return -1;
	memcpy(rec->blob, v, FX_SHA256_HEX - 1);
	rec->blob[FX_SHA256_HEX - 1] = '\0';
	rec->size = size;
	return 0;
}

int
remote_record_parse(const char *text, size_t len, struct fx_remote_record *rec,
    struct fx_buf *msg)
{
	char *copy = xstrndup(text, len);
	char *save = NULL;
	bool blob = false;
	int rc = 0;

	*rec = (struct fx_remote_record){0};
	if (len > 65536 || strlen(copy) != len) {
		buf_puts(msg, "not a fusion record (binary or too large)");
		free(copy);
		return -1;
	}
	char *line = strtok_r(copy, "\n", &save);
	if (!line || strcmp(line, "fusion-ac 1") != 0) {
		buf_puts(msg, "not a fusion record of version 1");
		free(copy);
		return -1;
	}
	while (rc == 0 && (line = strtok_r(NULL, "\n", &save))) {
		char *v = strchr(line, ' ');
		if (!v) {
			rc = -1;
			break;
		}
		*v++ = '\0';
		char **field = !strcmp(line, "node") ? &rec->node : !strcmp(line, "output") ?
		    &rec->output : !strcmp(line, "output-hash") ? &rec->output_hash : NULL;
		if (field && !*field && *v)
			*field = xstrdup(v);
		else if (field)
			rc = -1;
		else if (!strcmp(line, "blob") && !blob)
			rc = parse_blob(v, rec), blob = true;
		else if (!strcmp(line, "blob"))
			rc = -1;
		/* Other fields: a newer fusion's additions, ignored. */
	}
	free(copy);
	if (rc == 0 && (!rec->node || !rec->output || !rec->output_hash || !blob))
		rc = -1;
	if (rc < 0) {
		buf_puts(msg, "a malformed fusion record");
		remote_record_free(rec);
	}
	return rc;
}

void
remote_record_free(struct fx_remote_record *rec)
{
	free(rec->node);
	free(rec->output);
	free(rec->output_hash);
	*rec = (struct fx_remote_record){0};
}

/* ---- opening ---- */

/* The URL without user name and password, for messages. */
static char *
hide_credentials(const char *url)
{
	CURLU *u = curl_url();
	char *shown = NULL, *s = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
			shown = xstrdup(s);
		curl_free(s);
	}
	curl_url_cleanup(u);
	return shown;
}

static bool
header_ok(const char *name, const char *value)
{
	if (!name || !*name || strpbrk(name, ": \t\r\n"))
		return false;
	return value && !strpbrk(value, "\r\n");
}

struct fx_remote *
remote_open(const struct fx_remote_conf *c, struct fx_buf *err)
{
	struct fx_remote *r;
	const char *u = c->url;
	size_t n = strlen(u);

	if (strncmp(u, "file://", 7) == 0) {
		const char *p = u + 7;
		if (strncmp(p, "localhost/", 10) == 0)
			p += 9;
		if (*p != '/') {
			buf_printf(err, "%s: a file:// URL needs an absolute path (file:///srv/cache)", u);
			return NULL;
		}
		r = xcalloc(1, sizeof(*r));
		r->dir = path_clean(p);
		r->shown = xasprintf("file://%s", r->dir);
		r->base = xstrdup(r->shown);
	} else if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			buf_puts(err, "libcurl could not be initialised");
			return NULL;
		}
		char *shown = hide_credentials(u);
		if (!shown) {
			buf_puts(err, "the shared cache's URL is not a valid URL");
			curl_global_cleanup();
			return NULL;
		}
		if (c->header && !header_ok(c->header, c->header_value)) {
			buf_printf(err, "the header %s cannot be sent (a bad name, or a line break in "
			    "its value)", c->header);
			free(shown);
			curl_global_cleanup();
			return NULL;
		}
		r = xcalloc(1, sizeof(*r));
		while (n > 0 && u[n - 1] == '/')
			n--;
		r->base = xstrndup(u, n);
		n = strlen(shown);
		while (n > 0 && shown[n - 1] == '/')
			shown[--n] = '\0';
		r->shown = shown;
		r->multi = curl_multi_init();
		curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
		if (c->header)
			r->header = xasprintf("%s: %s", c->header, c->header_value);
	} else {
		buf_printf(err, "the shared cache must be an http://, https:// or file:// URL");
		return NULL;
	}
	r->connect_ms = c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 5000;
	r->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 30000;
	r->max_blob = c->max_blob > 0 ? c->max_blob : FX_REMOTE_MAX_BLOB;
	r->ended_tail = &r->ended;
	return r;
}

const char *
remote_url(const struct fx_remote *r)
{
	return r->shown;
}

/* ---- ending a transfer ---- */

static void
unlink_list(struct fx_remote *r, struct xfer *x)
{
	for (struct xfer **p = &r->active; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			r->nactive--;
			return;
		}
}

static void
end(struct xfer *x, enum fx_remote_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The transfer is over: release what it holds, keep its outcome for the
 * callback. A GET that did not succeed leaves no file; a PUT's temporary
 * file never stays. */
static void
end(struct xfer *x, enum fx_remote_status st, const char *fmt, ...)
{
	struct fx_remote *r = x->r;
	struct fx_buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	x->status = st;
	x->msg = buf_detach(&b);
	if (x->easy) {
		curl_multi_remove_handle(r->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	if (x->fd >= 0)
		close(x->fd);
	if (x->obj >= 0)
		close(x->obj);
	x->fd = x->obj = -1;
	if (x->tmp) {
		unlink(x->tmp);
		free(x->tmp);
		x->tmp = NULL;
	}
	if (st != FX_REMOTE_OK && x->made)
		unlink(x->path);
	unlink_list(r, x);
	x->next = NULL;
	*r->ended_tail = x;
	r->ended_tail = &x->next;
	r->nended++;
}

static void
xfer_free(struct xfer *x)
{
	free(x->area);
	free(x->name);
	free(x->path);
	free(x->sha256);
	free(x->label);
	free(x->where);
	free(x->final);
	free(x->refused);
	free(x->msg);
	buf_free(&x->mem);
	EVP_MD_CTX_free(x->md);
	curl_slist_free_all(x->headers);
	free(x);
}

/* A GET's body is complete: is it what was asked for? */
static void
end_get(struct xfer *x)
{
	char hex[FX_SHA256_HEX];

	if (x->req.size && x->moved != x->req.size) {
		end(x, FX_REMOTE_CORRUPT, "%s: %" PRIu64 " bytes, expected %" PRIu64, x->where,
		    x->moved, x->req.size);
		return;
	}
	if (x->md) {
		md_hex(x->md, hex);
		if (strcmp(hex, x->sha256) != 0) {
			end(x, FX_REMOTE_CORRUPT, "%s: the body's SHA-256 is %.12s..., not its name",
			    x->where, hex);
			return;
		}
	}
	if (x->fd >= 0 && close(x->fd) < 0) {
		x->fd = -1;
		end(x, FX_REMOTE_LOCAL, "writing %s: %s", x->path, strerror(errno));
		return;
	}
	x->fd = -1;
	end(x, FX_REMOTE_OK, "%s", "");
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Take a chunk of a GET's body. Returns -1 to stop (x->err or too_big set). */
static int
sink(struct xfer *x, const char *p, size_t len)
{
	if (x->moved + len > x->max) {
		x->too_big = true;
		return -1;
	}
	if (x->md)
		EVP_DigestUpdate(x->md, p, len);
	x->moved += len;
	if (x->fd < 0) {
		buf_add(&x->mem, p, len);
		return 0;
	}
	if (write_all(x->fd, p, len) < 0) {
		x->err = errno;
		return -1;
	}
	return 0;
}

/* ---- http:// and https:// ---- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	long code = 0;

	/* Only a 200's body is the object: error pages and redirects are not. */
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return size * n;
	return sink(x, p, size * n) < 0 ? 0 : size * n;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t want = size * n;

	if (x->fd >= 0) {
		ssize_t k;
		while ((k = read(x->fd, p, want)) < 0 && errno == EINTR)
			;
		if (k < 0) {
			x->err = errno;
			return CURL_READFUNC_ABORT;
		}
		x->moved += (uint64_t)k;
		return (size_t)k;
	}
	if (want > x->req.len - x->off)
		want = x->req.len - x->off;
	memcpy(p, (const char *)x->req.data + x->off, want);
	x->off += want;
	x->moved += want;
	return want;
}

/* A redirect or an authentication retry starts the body again. */
static int
on_seek(void *arg, curl_off_t off, int origin)
{
	struct xfer *x = arg;

	if (origin != SEEK_SET || off < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (x->fd >= 0 && lseek(x->fd, (off_t)off, SEEK_SET) < 0)
		return CURL_SEEKFUNC_FAIL;
	if (x->fd < 0)
		x->off = (size_t)off < x->req.len ? (size_t)off : x->req.len;
	x->moved = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

/* "scheme://host:port" of a URL (the port made explicit), or NULL. */
static char *
origin_of(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		o = xasprintf("%s://%s:%s", scheme, host, port);
		for (char *c = o; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return o;
}

/*
 * Called before each request is sent, redirects included. libcurl sends a
 * custom header to whatever host a redirect names (it keeps back only its
 * own Authorization and Cookie): with cache.header set, a request that
 * would leave the cache's origin is stopped before its headers go out.
 */
static int
on_request(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct xfer *x = arg;
	char *url = NULL, *here, *home;
	int rc = CURL_PREREQFUNC_OK;

	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
	if (!url)
		return CURL_PREREQFUNC_ABORT;
	here = origin_of(url);
	home = origin_of(x->r->base);
	if (!here || !home || strcmp(here, home) != 0) {
		char *shown = hide_credentials(url);
		free(x->refused);
		x->refused = shown ? shown : xstrdup("another host");
		rc = CURL_PREREQFUNC_ABORT;
	}
	free(here);
	free(home);
	return rc;
}

static void
http_begin(struct xfer *x)
{
	struct fx_remote *r = x->r;
	char *url = xasprintf("%s/%s/%s", r->base, x->area, x->name);
	CURL *e = curl_easy_init();
	long stall = (r->timeout_ms + 999) / 1000;

	x->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "fusion");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms);
	/* A server that accepts and never answers, stops half way, or
	 * trickles is given up once a transfer has stayed under MIN_RATE for
	 * the timeout; a record or an existence check is small, so the
	 * timeout bounds it in total too. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, (long)MIN_RATE);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall > 0 ? stall : 1L);
	if (strcmp(x->area, "ac") == 0 || x->req.op == FX_REMOTE_HEAD)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	/* No "Expect: 100-continue": some servers never answer it, and a
	 * second wasted per upload is too much for small records. */
	x->headers = curl_slist_append(x->headers, "Expect:");
	if (r->header) {
		x->headers = curl_slist_append(x->headers, r->header);
		curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_request);
		curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	switch (x->req.op) {
	case FX_REMOTE_GET:
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
		break;
	case FX_REMOTE_HEAD:
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		break;
	case FX_REMOTE_PUT:
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->total);
		break;
	}
	curl_multi_add_handle(r->multi, e);
}

static void
http_end(struct xfer *x, CURLcode rc)
{
	long code = 0;
	const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (x->err)
		end(x, FX_REMOTE_LOCAL, "%s %s: %s", x->req.op == FX_REMOTE_PUT ? "reading" : "writing",
		    x->path, strerror(x->err));
	else if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		end(x, FX_REMOTE_CORRUPT, "%s: larger than %" PRIu64 " bytes", x->where, x->max);
	else if (x->refused)
		end(x, FX_REMOTE_DOWN, "%s: redirected to %s, another server: not followed, since "
		    "it would be sent cache.header", x->where, x->refused);
	else if (rc == CURLE_PARTIAL_FILE)
		end(x, FX_REMOTE_CORRUPT, "%s: the body was cut short (%s)", x->where, why);
	else if (rc != CURLE_OK)
		end(x, FX_REMOTE_DOWN, "%s: %s", x->where, why);
	else if (code == 404 && x->req.op != FX_REMOTE_PUT)
		end(x, FX_REMOTE_MISSING, "%s: not found", x->where);
	else if (x->req.op == FX_REMOTE_PUT && code >= 200 && code < 300)
		end(x, FX_REMOTE_OK, "%s", "");
	else if (x->req.op == FX_REMOTE_HEAD && code == 200)
		end(x, FX_REMOTE_OK, "%s", "");
	else if (x->req.op == FX_REMOTE_GET && code == 200)
		end_get(x);
	else if (code == 401 || code == 403)
		end(x, FX_REMOTE_DOWN, "%s: HTTP %ld (credentials: ~/.netrc or cache.header_env)",
		    x->where, code);
	else
		end(x, FX_REMOTE_DOWN, "%s: HTTP %ld", x->where, code);
}

static void
http_collect(struct fx_remote *r)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(r->multi, &left))) {
		struct xfer *x = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		http_end(x, m->data.result);
	}
}

/* ---- file:// ---- */

static void
file_begin(struct xfer *x)
{
	struct fx_remote *r = x->r;
	char *sub = path_join(r->dir, x->area);
	struct stat st;

	x->final = path_join(sub, x->name);
	if (x->req.op == FX_REMOTE_HEAD) {
		int rc = lstat(x->final, &st);
		if (rc < 0 && errno == ENOENT)
			end(x, FX_REMOTE_MISSING, "%s: not found", x->where);
		else if (rc < 0)
			end(x, FX_REMOTE_DOWN, "%s: %s", x->where, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			end(x, FX_REMOTE_CORRUPT, "%s: not a regular file", x->where);
		else
			end(x, FX_REMOTE_OK, "%s", "");
	} else if (x->req.op == FX_REMOTE_GET) {
		/* An object is a regular file: a FIFO would block the open (and
		 * the run) for ever, a device or a directory is no object, a
		 * link may point anywhere. Opened without blocking, then looked
		 * at: one of those is a fault of that object (the node runs). */
		x->obj = open(x->final, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
		if (x->obj < 0 && errno == ELOOP)
			end(x, FX_REMOTE_CORRUPT, "%s: a symbolic link, not a regular file", x->where);
		else if (x->obj < 0)
			end(x, errno == ENOENT ? FX_REMOTE_MISSING : FX_REMOTE_DOWN, "%s: %s",
			    x->where, strerror(errno));
		else if (fstat(x->obj, &st) < 0)
			end(x, FX_REMOTE_DOWN, "%s: %s", x->where, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			end(x, FX_REMOTE_CORRUPT, "%s: not a regular file", x->where);
		else
			x->total = (uint64_t)st.st_size;
	} else if (mkdir_p(sub, 0755) < 0) {
		end(x, FX_REMOTE_DOWN, "%s: %s", sub, strerror(errno));
	} else {
		x->tmp = xasprintf("%s/.tmp-%s-XXXXXX", sub, x->name);
		x->obj = mkstemp(x->tmp);	/* the temporary object: written */
		if (x->obj < 0) {
			free(x->tmp);
			x->tmp = NULL;
			end(x, FX_REMOTE_DOWN, "%s: %s", sub, strerror(errno));
		} else {
			fchmod(x->obj, 0644);
		}
	}
	free(sub);
}

/* Move one chunk of a file:// transfer; end it when done. */
static void
file_step(struct xfer *x, char *buf)
{
	ssize_t k;
	double secs = now_mono() - x->started;

	/* The same bound in time as over HTTP: slower than MIN_RATE for the
	 * whole of the timeout (a file system that hangs, a body that grows
	 * as slowly as it is read) ends the transfer. */
	if (secs * 1000 > (double)x->r->timeout_ms && (double)x->moved < secs * MIN_RATE) {
		end(x, FX_REMOTE_DOWN, "%s: timed out (%" PRIu64 " bytes in %.0f s)", x->where,
		    x->moved, secs);
		return;
	}
	if (x->req.op == FX_REMOTE_GET) {
		while ((k = read(x->obj, buf, CHUNK)) < 0 && errno == EINTR)
			;
		if (k < 0)
			end(x, FX_REMOTE_DOWN, "%s: %s", x->where, strerror(errno));
		else if (k == 0)
			end_get(x);
		else if (sink(x, buf, (size_t)k) < 0 && x->too_big)
			end(x, FX_REMOTE_CORRUPT, "%s: larger than %" PRIu64 " bytes", x->where, x->max);
		else if (x->err)
			end(x, FX_REMOTE_LOCAL, "writing %s: %s", x->path, strerror(x->err));
		return;
	}
	/* PUT: from the caller's file or memory into the temporary object. */
	const char *p = buf;
	if (x->fd >= 0) {
		while ((k = read(x->fd, buf, CHUNK)) < 0 && errno == EINTR)
			;
		if (k < 0) {
			end(x, FX_REMOTE_LOCAL, "reading %s: %s", x->path, strerror(errno));
			return;
		}
	} else {
		k = (ssize_t)(x->req.len - x->off < CHUNK ? x->req.len - x->off : CHUNK);
		p = (const char *)x->req.data + x->off;
		x->off += (size_t)k;
	}
	if (k > 0 && write_all(x->obj, p, (size_t)k) < 0) {
		end(x, FX_REMOTE_DOWN, "writing %s: %s", x->where, strerror(errno));
		return;
	}
	x->moved += (uint64_t)k;
	if (k > 0)
		return;
	if (fsync(x->obj) < 0 || close(x->obj) < 0) {
		x->obj = -1;
		end(x, FX_REMOTE_DOWN, "writing %s: %s", x->where, strerror(errno));
		return;
	}
	x->obj = -1;
	if (rename(x->tmp, x->final) < 0) {
		end(x, FX_REMOTE_DOWN, "%s: %s", x->where, strerror(errno));
		return;
	}
	free(x->tmp);
	x->tmp = NULL;
	end(x, FX_REMOTE_OK, "%s", "");
}

/* ---- the queue ---- */

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
remote_start(struct fx_remote *r, const struct fx_remote_req *req)
{
	struct xfer *x = xcalloc(1, sizeof(*x));
	struct stat st;

	x->r = r;
	x->req = *req;
	x->area = xstrdup(req->area);
	x->name = xstrdup(req->name);
	x->path = dup_or_null(req->path);
	x->sha256 = dup_or_null(req->sha256);
	x->label = dup_or_null(req->label);
	x->req.area = x->req.name = x->req.path = x->req.sha256 = x->req.label = NULL;
	x->where = xasprintf("%s/%s/%s", r->shown, x->area, x->name);
	x->fd = x->obj = -1;
	x->started = now_mono();
	x->max = req->size ? req->size : req->path ? r->max_blob : MEM_MAX;
	x->total = req->size;
	x->next = r->active;
	r->active = x;
	r->nactive++;

	/* A record may claim any size: more than the limit is refused before
	 * a byte moves (a body longer than it claims stops at x->max). */
	if (req->op == FX_REMOTE_GET && x->path && req->size > r->max_blob) {
		end(x, FX_REMOTE_CORRUPT, "%s: its record claims %" PRIu64 " bytes, more than the "
		    "limit of %" PRIu64 " (cache.max_blob_mib)", x->where, req->size, r->max_blob);
		return;
	}
	if (req->op == FX_REMOTE_GET && x->sha256) {
		x->md = EVP_MD_CTX_new();
		EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);
	}
	if (req->op == FX_REMOTE_GET && x->path) {
		x->fd = open(x->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (x->fd < 0) {
			end(x, FX_REMOTE_LOCAL, "%s: %s", x->path, strerror(errno));
			return;
		}
		x->made = fstat(x->fd, &st) == 0 && S_ISREG(st.st_mode);
	}
	if (req->op == FX_REMOTE_PUT && x->path) {
		x->fd = open(x->path, O_RDONLY | O_CLOEXEC);
		if (x->fd < 0 || fstat(x->fd, &st) < 0) {
			end(x, FX_REMOTE_LOCAL, "%s: %s", x->path, strerror(errno));
			return;
		}
		x->total = (uint64_t)st.st_size;
	} else if (req->op == FX_REMOTE_PUT) {
		x->total = req->len;
	}
	if (r->dir)
		file_begin(x);
	else
		http_begin(x);
}

static void
deliver(struct fx_remote *r)
{
	struct xfer *list = r->ended;

	r->ended = NULL;
	r->ended_tail = &r->ended;
	r->nended = 0;
	while (list) {
		struct xfer *x = list;
		list = x->next;
		struct fx_remote_res res = {
			.status = x->status, .msg = x->msg, .body = x->mem.s ? x->mem.s : "",
			.len = x->mem.len, .bytes = x->moved, .seconds = now_mono() - x->started,
		};
		if (x->req.done)
			x->req.done(x->req.arg, &res);
		xfer_free(x);
	}
}

void
remote_wait(struct fx_remote *r, int fd, int timeout_ms)
{
	bool files = false;

	if (r->dir && r->active) {
		char *buf = xmalloc(CHUNK);
		for (struct xfer *x = r->active, *next; x; x = next) {
			next = x->next;
			file_step(x, buf);
		}
		free(buf);
		files = r->active != NULL;
	}
	if (files || r->ended)
		timeout_ms = 0;
	if (r->multi && r->active) {
		struct curl_waitfd w = {.fd = fd, .events = CURL_WAIT_POLLIN};
		int running;
		curl_multi_perform(r->multi, &running);
		http_collect(r);
		if (r->ended)
			timeout_ms = 0;
		curl_multi_poll(r->multi, fd >= 0 ? &w : NULL, fd >= 0 ? 1 : 0, timeout_ms, NULL);
		curl_multi_perform(r->multi, &running);
		http_collect(r);
	} else if (timeout_ms > 0) {
		struct pollfd p = {fd, POLLIN, 0};
		poll(&p, fd >= 0 ? 1 : 0, timeout_ms);
	}
	deliver(r);
}

size_t
remote_pending(const struct fx_remote *r)
{
	return r->nactive + r->nended;
}

void
remote_cancel_all(struct fx_remote *r)
{
	while (r->active)
		end(r->active, FX_REMOTE_CANCELLED, "%s: cancelled", r->active->where);
}

void
remote_close(struct fx_remote *r)
{
	if (!r)
		return;
	remote_cancel_all(r);
	for (struct xfer *x = r->ended, *next; x; x = next) {
		next = x->next;
		xfer_free(x);
	}
	if (r->multi) {
		curl_multi_cleanup(r->multi);
		curl_global_cleanup();
	}
	free(r->base);
	free(r->shown);
	free(r->dir);
	free(r->header);
	free(r);
}

bool
remote_progress(const struct fx_remote *r, struct fx_remote_progress *p)
{
	const struct xfer *best = NULL;
	uint64_t most = 0;

	for (const struct xfer *x = r->active; x; x = x->next) {
		uint64_t size = x->total > x->moved ? x->total : x->moved;
		if (x->req.op == FX_REMOTE_GET && x->easy) {
			curl_off_t cl = -1;
			curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
			if (cl > 0 && (uint64_t)cl > size)
				size = (uint64_t)cl;
		}
		if (!best || size > most) {
			best = x;
			most = size;
		}
	}
	if (!best)
		return false;
	*p = (struct fx_remote_progress){
		.label = best->label ? best->label : best->name, .op = best->req.op,
		.done = best->moved, .total = most, .seconds = now_mono() - best->started,
	};
	return true;
}

/* A response header that tells a version of the body: keep it. */
struct head {
	struct fx_buf v;
};

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct head *h = arg;
	size_t len = size * n;
	static const char *const keep[] = {"etag:", "last-modified:", "content-length:"};

	/* A redirect's headers come first: only the last response counts. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		buf_reset(&h->v);
	for (size_t i = 0; i < FX_NELEM(keep); i++) {
		size_t k = strlen(keep[i]);
		if (len > k && strncasecmp(p, keep[i], k) == 0) {
			size_t e = len;
			while (e > k && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
				e--;
			size_t b = k;
			while (b < e && p[b] == ' ')
				b++;
			buf_printf(&h->v, "%.*s %.*s;", (int)(k - 1), keep[i], (int)(e - b), p + b);
		}
	}
	return len;
}

int
remote_head_url(const char *url, int timeout_ms, struct fx_buf *validators, struct fx_buf *err)
{
	struct head h = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	int rc = -1;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		buf_puts(err, "cannot start libcurl");
		return -1;
	}
	CURL *e = curl_easy_init();
	if (!e) {
		buf_puts(err, "cannot start libcurl");
		curl_global_cleanup();
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "fusion");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 30000));
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &h);
	CURLcode cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	char *shown = hide_credentials(url);
	const char *name = shown ? shown : "the URL";
	if (cc != CURLE_OK)
		buf_printf(err, "%s: %s", name, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	else if (code < 200 || code > 299)
		buf_printf(err, "%s: HTTP status %ld", name, code);
	else
		rc = 0;
	free(shown);
	if (rc == 0)
		buf_puts(validators, h.v.s ? h.v.s : "");
	buf_free(&h.v);
	curl_easy_cleanup(e);
	curl_global_cleanup();
	return rc;
}
