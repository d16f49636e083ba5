/*
 * remote.h - the shared cache: Bazel's HTTP remote cache protocol, spoken
 * with libcurl's multi interface (docs/DESIGN.md, "The shared cache").
 *
 *   GET/PUT/HEAD {remote}/ac/{name}    a small record of a node's outputs
 *   GET/PUT/HEAD {remote}/cas/{sha256} a blob, under the SHA-256 of its bytes
 *
 * so that any server taking GET and PUT serves it unchanged: nginx with
 * WebDAV, bazel-remote (--disable_http_ac_validation: our records are not
 * Bazel ActionResults), a bucket, or a directory through file://.
 *
 * Back-ends:
 *   http://, https://  libcurl; TLS verified; credentials from ~/.netrc, or
 *                      one header whose value the caller read from the
 *                      environment (never printed, logged or stored);
 *                      connect timeout, a total timeout for small requests
 *                      and the same limit on a transfer that stalls or
 *                      trickles (under 1 KB/s).
 *   file://DIR         the directory DIR/ac, DIR/cas; every write goes to a
 *                      temporary file beside its final name, then rename(2),
 *                      so no reader ever sees half an object.
 *
 * Everything is asynchronous and single-threaded: remote_start() queues a
 * transfer; remote_wait() waits for its sockets (and one more descriptor of
 * the caller's, the executor's signal pipe), moves every transfer on, and
 * calls the callbacks of those that ended. A callback is always called,
 * exactly once, from remote_wait(), never from remote_start(), even for a
 * transfer that could not begin. File transfers move 1 MiB per call, so a
 * large copy does not stop the caller's loop either.
 *
 * Nothing here prints: every outcome is a status and a one-line message
 * (which names the URL without any credentials in it).
 */
#ifndef FUSION_REMOTE_H
#define FUSION_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fusion/util.h"

#define FX_SHA256_HEX 65	/* 64 lowercase hex digits and a NUL */

struct fx_remote_conf {
	const char *url;	/* http://, https:// or file://PATH (absolute) */
	const char *header;	/* a header's name, or NULL */
	const char *header_value;	/* its value; never printed */
	int connect_timeout_ms;	/* 0: 5 s */
	int timeout_ms;		/* 0: 30 s. Total time of a record request; the
				 * longest any transfer may stay under 1 KB/s */
	uint64_t max_blob;	/* 0: FX_REMOTE_MAX_BLOB. The most bytes a GET into
				 * a file takes: a record claiming more is refused
				 * before anything moves, a body stops there */
};

#define FX_REMOTE_MAX_BLOB (8ULL << 30)	/* 8 GiB */

enum fx_remote_op { FX_REMOTE_GET, FX_REMOTE_PUT, FX_REMOTE_HEAD };

enum fx_remote_status {
	FX_REMOTE_OK,		/* GET: the body (verified); PUT: stored; HEAD: exists */
	FX_REMOTE_MISSING,	/* 404 (GET, HEAD) */
	FX_REMOTE_CORRUPT,	/* a body that is not what it should be: wrong digest,
				 * wrong size, truncated, too large */
	FX_REMOTE_LOCAL,	/* this machine: a disk full, a file unreadable */
	FX_REMOTE_DOWN,		/* the server: unreachable, timed out, TLS, refused
				 * (any HTTP status but 2xx and 404) */
	FX_REMOTE_CANCELLED,	/* remote_cancel_all() */
};

struct fx_remote_res {
	enum fx_remote_status status;
	const char *msg;	/* one line; "" for OK */
	const char *body;	/* GET into memory: the body, NUL-terminated */
	size_t len;
	uint64_t bytes;		/* bytes moved */
	double seconds;
};

struct fx_remote_req {
	enum fx_remote_op op;
	const char *area;	/* "ac" or "cas" */
	const char *name;	/* the object's name in the area (hex) */
	/* GET: into the file `path` (created), else into memory (at most
	 * `size` bytes, or 1 MiB when 0). PUT: from the file `path`, else from
	 * data/len. */
	const char *path;
	const void *data;
	size_t len;
	const char *sha256;	/* GET: the body's expected SHA-256 (hex), or NULL */
	uint64_t size;		/* GET into a file: its expected size, or 0 */
	const char *label;	/* shown with the progress ("build:core-api") */
	void (*done)(void *arg, const struct fx_remote_res *res);
	void *arg;
};

struct fx_remote;

/* Check the URL and set up; NULL with the reason in *err. Nothing is sent. */
struct fx_remote *remote_open(const struct fx_remote_conf *conf, struct fx_buf *err);
/* Cancel what is in flight (their callbacks are not called) and free. */
void remote_close(struct fx_remote *r);

/* The URL as messages show it: without a user name or password. */
const char *remote_url(const struct fx_remote *r);

/* Queue a transfer (the strings are copied; `data` must live until done). */
void remote_start(struct fx_remote *r, const struct fx_remote_req *req);
/* Wait at most timeout_ms for progress on the transfers or for `fd` (-1:
 * none) to be readable, then move the transfers on and call the callbacks
 * of those that ended. */
void remote_wait(struct fx_remote *r, int fd, int timeout_ms);
/* Transfers queued and not yet ended. */
size_t remote_pending(const struct fx_remote *r);
/* End every transfer with FX_REMOTE_CANCELLED; the callbacks run in the next
 * remote_wait(). Partial files are removed. */
void remote_cancel_all(struct fx_remote *r);

/* The transfer with most bytes to move, for a status line. */
struct fx_remote_progress {
	const char *label;
	enum fx_remote_op op;
	uint64_t done, total;	/* total 0 if unknown */
	double seconds;		/* since it started */
};
bool remote_progress(const struct fx_remote *r, struct fx_remote_progress *p);

/*
 * A HEAD request of any http(s) URL (a build's `ADD <url>`), synchronous,
 * with the same TLS checks as the cache and at most timeout_ms (0: 30 s).
 * Appends to *validators what identifies the body's version: "etag V;",
 * "last-modified V;", "content-length V;" as the final response gives
 * them ("" when it gives none). Returns 0 on a 2xx answer, else -1 with a
 * one-line reason (no credentials) in *err.
 */
int remote_head_url(const char *url, int timeout_ms, struct fx_buf *validators, struct fx_buf *err);

/* SHA-256 (OpenSSL's libcrypto) as lowercase hex. */
void sha256_hex(const void *data, size_t len, char out[FX_SHA256_HEX]);
/* Of a file's bytes; also its size. Returns 0, or -1 with errno. */
int sha256_file(const char *path, char out[FX_SHA256_HEX], uint64_t *size);

/*
 * The record stored under ac/: what a node produced and where its blob is.
 * Text, one "field value" a line:
 *
 *   fusion-ac 1
 *   node build:core-api
 *   output sha256:0f3c...            (the output's value: image ID, path)
 *   output-hash 1a2b...              (what dependents see: XXH3-128 hex)
 *   blob 5e88... 52428800            (SHA-256 and size of the blob in cas/)
 *
 * Its name is the SHA-256 of "fusion-ac-1", NUL, the node id, NUL, the
 * node key: a chart's key does not name its release, and two releases of
 * one chart render differently.
 */
struct fx_remote_record {
	char *node;
	char *output;
	char *output_hash;
	char blob[FX_SHA256_HEX];
	uint64_t size;
};

void remote_ac_name(const char *id, const char *key, char out[FX_SHA256_HEX]);
/* Serialise; returns -1 if a field would not survive (a newline in it). */
int remote_record_format(const struct fx_remote_record *rec, struct fx_buf *out);
/* Parse strictly; -1 with a reason in *msg. Free with remote_record_free. */
int remote_record_parse(const char *text, size_t len, struct fx_remote_record *rec,
    struct fx_buf *msg);
void remote_record_free(struct fx_remote_record *rec);

/* Human sizes and rates for status lines: "52.4 MB", "41.0 MB/s". */
void remote_format_bytes(uint64_t n, char *out, size_t outlen);

#endif
