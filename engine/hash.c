/*
 * hash.c - XXH3-128 digests: of bytes, of files, and the Merkle digest of
 * a tree's entries (see hash.h). The walk that finds the entries is in
 * walk.c.
 */
#include "fusion/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "fusion/util.h"

#define READBUF (256 * 1024)

static fx_hash
from_xxh(XXH128_hash_t x)
{
	return (fx_hash){x.high64, x.low64};
}

fx_hash
hash_bytes(const void *p, size_t n)
{
	return from_xxh(XXH3_128bits(p, n));
}

static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
hash_pack(fx_hash h, unsigned char out[16])
{
	put_be64(out, h.hi);
	put_be64(out + 8, h.lo);
}

fx_hash
hash_unpack(const unsigned char in[16])
{
	return (fx_hash){get_be64(in), get_be64(in + 8)};
}

void
hash_hex(fx_hash h, char out[FX_HASH_HEX])
{
	unsigned char b[16];

	hash_pack(h, b);
	hex_encode(b, sizeof b, out);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hash_parse(const char *hex, fx_hash *out)
{
	uint64_t w[2] = {0, 0};

	for (int i = 0; i < 32; i++) {
		int v = hexval(hex[i]);
		if (v < 0)
			return -1;
		w[i / 16] = w[i / 16] << 4 | (uint64_t)v;
	}
	if (hex[32] != '\0')
		return -1;
	*out = (fx_hash){w[0], w[1]};
	return 0;
}

/* XXH3 allocates its own state; fail on it as util.h's x* functions do. */
static XXH3_state_t *
new_state(void)
{
	XXH3_state_t *st = XXH3_createState();

	if (!st)
		xoom();
	return st;
}

struct fx_hasher {
	XXH3_state_t *st;
};

struct fx_hasher *
hasher_new(void)
{
	struct fx_hasher *h = xmalloc(sizeof(*h));

	h->st = new_state();
	XXH3_128bits_reset(h->st);
	return h;
}

void
hasher_str(struct fx_hasher *h, const char *s)
{
	XXH3_128bits_update(h->st, s, strlen(s) + 1);
}

fx_hash
hasher_done(struct fx_hasher *h)
{
	fx_hash r = from_xxh(XXH3_128bits_digest(h->st));

	XXH3_freeState(h->st);
	free(h);
	return r;
}

struct fx_digester {
	unsigned char *buf;
	XXH3_state_t *xs;
};

struct fx_digester *
digester_new(void)
{
	struct fx_digester *d = xmalloc(sizeof(*d));

	d->buf = xmalloc(READBUF);
	d->xs = new_state();
	return d;
}

void
digester_free(struct fx_digester *d)
{
	if (!d)
		return;
	free(d->buf);
	XXH3_freeState(d->xs);
	free(d);
}

/*
 * A short read after `size` bytes is taken as the end, which saves the
 * read that would return 0 on every small file. A file that grows
 * meanwhile gets a new stat next time, so its stat cache entry will not
 * match.
 */
int
digester_fd(struct fx_digester *d, int fd, int64_t size, fx_hash *out, uint64_t *nbytes)
{
	size_t have = 0;
	uint64_t total = 0;
	bool streaming = false;

	for (;;) {
		ssize_t n = read(fd, d->buf + have, READBUF - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		have += (size_t)n;
		total += (uint64_t)n;
		bool end = n == 0 || (have < READBUF && total >= (uint64_t)size);
		if (end)
			break;
		if (have == READBUF) {
			if (!streaming)
				XXH3_128bits_reset(d->xs);
			streaming = true;
			XXH3_128bits_update(d->xs, d->buf, have);
			have = 0;
		}
	}
	if (streaming) {
		XXH3_128bits_update(d->xs, d->buf, have);
		*out = from_xxh(XXH3_128bits_digest(d->xs));
	} else {
		*out = from_xxh(XXH3_128bits(d->buf, have));
	}
	*nbytes = total;
	return 0;
}

/*
 * The Merkle digest (hash.h): for each entry, path NUL, mode as six octal
 * digits NUL, digest big-endian. Entries are staged in the read buffer so
 * that XXH3 sees large updates.
 */
fx_hash
digester_tree(struct fx_digester *d, const struct fx_tree_entry *v, size_t n)
{
	unsigned char *buf = d->buf;
	size_t have = 0;

	XXH3_128bits_reset(d->xs);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i].path);
		if (have + len + 25 > READBUF) {
			XXH3_128bits_update(d->xs, buf, have);
			have = 0;
		}
		if (len + 25 > READBUF) {	/* absurd, but valid */
			XXH3_128bits_update(d->xs, v[i].path, len);
		} else {
			memcpy(buf + have, v[i].path, len);
			have += len;
		}
		buf[have++] = '\0';
		for (int k = 5; k >= 0; k--)
			buf[have++] = (unsigned char)('0' + ((v[i].mode >> (3 * k)) & 7));
		buf[have++] = '\0';
		hash_pack(v[i].hash, buf + have);
		have += 16;
	}
	XXH3_128bits_update(d->xs, buf, have);
	return from_xxh(XXH3_128bits_digest(d->xs));
}

int
hash_file(const char *path, fx_hash *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct fx_digester *d = digester_new();
	uint64_t n;
	int rc = digester_fd(d, fd, INT64_MAX, out, &n);
	int e = errno;
	digester_free(d);
	close(fd);
	errno = e;
	return rc;
}
