/*
 * dirlist.c - a directory's entries in tree order (see dirlist.h).
 */
#include "fusion/dirlist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint64_t
sort_prefix(const char *s, size_t len, bool dir)
{
	unsigned char b[8] = {0};
	uint64_t v = 0;

	memcpy(b, s, len < 8 ? len : 8);
	if (dir && len < 8)
		b[len] = '/';
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static int
cmp_name(const struct fx_dirname *a, const struct fx_dirname *b)
{
	if (a->pre != b->pre)
		return a->pre < b->pre ? -1 : 1;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);
	if (c)
		return c;
	int ca = a->len > n ? (unsigned char)a->name[n] : a->dir ? '/' : 0;
	int cb = b->len > n ? (unsigned char)b->name[n] : b->dir ? '/' : 0;
	return ca - cb;
}

static inline bool
less(const struct fx_dirname *a, const struct fx_dirname *b)
{
	if (a->pre != b->pre)	/* decides nearly always */
		return a->pre < b->pre;
	return cmp_name(a, b) < 0;
}

/* For short runs, and for the rare names that share 8 bytes. */
static void
insertion_sort(struct fx_dirname *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct fx_dirname t = v[i];
		size_t k = i;
		for (; k > 0 && less(&t, &v[k - 1]); k--)
			v[k] = v[k - 1];
		v[k] = t;
	}
}

/*
 * Least significant byte first radix sort on the 8-byte prefixes, skipping
 * the bytes all names share (most of them, in a directory of file0001.txt
 * ... file1999.txt), then the few runs of equal prefixes by full
 * comparison. A few linear passes instead of the n log n comparisons of a
 * comparison sort.
 */
static void
radix_sort(struct fx_dirlist *l)
{
	static const size_t small = 48;
	uint32_t count[8][256];
	size_t n = l->n;

	if (n < small) {
		insertion_sort(l->v, n);
		return;
	}
	l->tmp = xgrowarray(l->tmp, &l->ctmp, n, sizeof(*l->tmp));
	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++)
			count[b][(l->v[i].pre >> (8 * b)) & 255]++;
	for (int b = 0; b < 8; b++) {
		uint32_t *c = count[b];
		if (c[(l->v[0].pre >> (8 * b)) & 255] == n)
			continue;	/* every name has the same byte here */
		uint32_t sum = 0;
		for (int k = 0; k < 256; k++) {
			uint32_t t = c[k];
			c[k] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++)
			l->tmp[c[(l->v[i].pre >> (8 * b)) & 255]++] = l->v[i];
		struct fx_dirname *t = l->v;	/* the arrays trade places */
		l->v = l->tmp;
		l->tmp = t;
		size_t ct = l->cap;
		l->cap = l->ctmp;
		l->ctmp = ct;
	}
	for (size_t i = 0, k; i < n; i = k) {
		for (k = i + 1; k < n && l->v[k].pre == l->v[i].pre; k++)
			;
		if (k - i > 1)
			insertion_sort(l->v + i, k - i);
	}
}

/* Is the entry one a tree holds, and a directory? Some file systems do
 * not say the type: then stat it. Sockets no builder sends. */
static bool
wanted(int dfd, const struct dirent *de, bool *dir)
{
	struct stat st;

	*dir = de->d_type == DT_DIR;
	if (de->d_type == DT_UNKNOWN) {
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return false;
		*dir = S_ISDIR(st.st_mode);
		return !S_ISSOCK(st.st_mode);
	}
	return de->d_type != DT_SOCK && de->d_type != DT_WHT;
}

int
dirlist_read(struct fx_dirlist *l, DIR *d)
{
	struct dirent *de;
	int dfd = dirfd(d);
	int err;

	l->n = l->ndirs = 0;
	buf_reset(&l->names);
	/* Names first, each one's offset kept in `pre`: the buffer moves as it
	 * grows, so pointers come after. */
	for (errno = 0; (de = readdir(d)); errno = 0) {
		const char *s = de->d_name;
		bool dir;
		if (s[0] == '.' && (!s[1] || (s[1] == '.' && !s[2])))
			continue;
		if (!wanted(dfd, de, &dir))
			continue;
		size_t len = strlen(s);
		l->v = xgrowarray(l->v, &l->cap, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = (struct fx_dirname){NULL, (uint32_t)len, dir, l->names.len};
		buf_add(&l->names, s, len + 1);
		l->ndirs += dir;
	}
	err = errno;
	for (size_t i = 0; i < l->n; i++) {
		struct fx_dirname *e = &l->v[i];
		e->name = l->names.s + e->pre;
		e->pre = sort_prefix(e->name, e->len, e->dir);
	}
	radix_sort(l);
	errno = err;
	return err ? -1 : 0;
}

void
dirlist_free(struct fx_dirlist *l)
{
	free(l->v);
	free(l->tmp);
	buf_free(&l->names);
	*l = (struct fx_dirlist){0};
}
