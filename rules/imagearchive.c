/*
 * imagearchive.c - the names an image archive would apply, checked before
 * it is loaded (see imagearchive.h).
 */
#include "fusion/imagearchive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define BLOCK 512
#define JSON_MAX (1 << 20)

static bool
name_ok(const char *name, const char *ref)
{
	const char *colon = strrchr(ref, ':');

	return strcmp(name, ref) == 0 || (colon && strcmp(name, colon + 1) == 0);
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* The string at p (after its opening quote) up to its closing quote. */
static char *
string_at(const char **pp)
{
	const char *p = *pp, *end;

	if (*p != '"' || !(end = strchr(p + 1, '"')))
		return NULL;
	*pp = end + 1;
	return xstrndup(p + 1, (size_t)(end - p - 1));
}

/* Check one name found in `file`; -1 with a reason if it is not ref. */
static int
check_name(const char *file, char *name, const char *ref, struct fx_buf *msg)
{
	int rc = 0;

	if (!name) {
		buf_printf(msg, "the archive's %s names an image in a form not understood", file);
		rc = -1;
	} else if (!name_ok(name, ref)) {
		buf_printf(msg, "the archive would name %s, not only %s", name, ref);
		rc = -1;
	}
	free(name);
	return rc;
}

/* Every value of the key `key` (its quotes included) in index.json. */
static int
check_annotation(const char *text, const char *key, const char *ref, struct fx_buf *msg)
{
	for (const char *p = text; (p = strstr(p, key));) {
		p = skip_ws(p + strlen(key));
		if (*p != ':')
			continue;	/* a value, not a key */
		p = skip_ws(p + 1);
		if (check_name("index.json", string_at(&p), ref, msg) < 0)
			return -1;
	}
	return 0;
}

/* Every name of every RepoTags array in manifest.json (Go matches the key
 * without regard to case). */
static int
check_repotags(const char *text, const char *ref, struct fx_buf *msg)
{
	for (const char *p = text; (p = strcasestr(p, "\"repotags\""));) {
		p = skip_ws(p + 10);
		if (*p != ':')
			continue;
		p = skip_ws(p + 1);
		if (strncmp(p, "null", 4) == 0)
			continue;
		if (*p != '[')
			return check_name("manifest.json", NULL, ref, msg);
		p = skip_ws(p + 1);
		while (*p != ']') {
			if (check_name("manifest.json", string_at(&p), ref, msg) < 0)
				return -1;
			p = skip_ws(p);
			if (*p == ',')
				p = skip_ws(p + 1);
			else if (*p != ']')
				return check_name("manifest.json", NULL, ref, msg);
		}
	}
	return 0;
}

/* ASCII without escapes: what is searched for is what a JSON decoder reads. */
static int
plain_json(const char *file, const char *text, struct fx_buf *msg)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p == '\\' || *p >= 0x80) {
			buf_printf(msg, "the archive's %s has escapes or non-ASCII text", file);
			return -1;
		}
	return 0;
}

int
image_archive_check_json(const char *index, const char *manifest, const char *ref,
    struct fx_buf *msg)
{
	if (index && (plain_json("index.json", index, msg) < 0 ||
	    check_annotation(index, "\"org.opencontainers.image.ref.name\"", ref, msg) < 0 ||
	    check_annotation(index, "\"io.containerd.image.name\"", ref, msg) < 0))
		return -1;
	if (manifest && (plain_json("manifest.json", manifest, msg) < 0 ||
	    check_repotags(manifest, ref, msg) < 0))
		return -1;
	return 0;
}

/* ---- the tar ---- */

static unsigned long long
octal(const unsigned char *p, size_t n, bool *ok)
{
	unsigned long long v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {		/* base-256: far larger than a JSON file */
		*ok = false;
		return 0;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (unsigned)(p[i] - '0');
	if (i < n && p[i] != '\0' && p[i] != ' ')
		*ok = false;
	return v;
}

static bool
header_ok(const unsigned char *h)
{
	bool ok = true;
	unsigned long long want = octal(h + 148, 8, &ok), sum = 0;

	for (int i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return ok && sum == want && memcmp(h + 257, "ustar", 5) == 0;
}

/* The member's name with "." and empty components dropped, as extracting
 * it would place it; NULL if a component is "..". */
static char *
member_name(const unsigned char *h)
{
	char raw[BLOCK];
	struct fx_buf out = {0};
	size_t plen = strnlen((const char *)h + 345, 155);

	memcpy(raw, h + 345, plen);
	raw[plen] = '\0';
	if (plen)
		strcat(raw, "/");
	strncat(raw, (const char *)h, strnlen((const char *)h, 100));
	for (char *save = NULL, *c = strtok_r(raw, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			buf_free(&out);
			return NULL;
		}
		if (out.len)
			buf_puts(&out, "/");
		buf_puts(&out, c);
	}
	return out.s ? buf_detach(&out) : xstrdup("");
}

static int
read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, (char *)buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* docker's archives (and podman's docker-archive) link each layer's
 * DIR/layer.tar to the layer's file: that link, and no other, is allowed
 * (a link to a directory could place a later member anywhere). */
static bool
layer_link(const char *name)
{
	const char *slash = strchr(name, '/');

	return slash && strcmp(slash + 1, "layer.tar") == 0;
}

/* Read index.json and manifest.json out of the tar at fd; is there a
 * (legacy) repositories file too? */
static int
read_members(int fd, char **index, char **manifest, bool *repositories, struct fx_buf *msg)
{
	unsigned char h[BLOCK];

	for (;;) {
		if (read_full(fd, h, BLOCK) < 0) {
			buf_puts(msg, "the archive ends inside a header");
			return -1;
		}
		static const unsigned char zero[BLOCK];
		if (memcmp(h, zero, BLOCK) == 0)
			return 0;
		bool ok = true;
		unsigned long long size = octal(h + 124, 12, &ok);
		if (!header_ok(h) || !ok) {
			buf_puts(msg, "not a plain tar archive");
			return -1;
		}
		char type = (char)h[156];
		char *name = member_name(h);
		if (!name) {
			buf_puts(msg, "the archive holds a member named with \"..\"");
			return -1;
		}
		if (type != '0' && type != '\0' && type != '5' && !(type == '2' && layer_link(name))) {
			buf_printf(msg, "the archive holds %s of type '%c' (links but a docker layer's, "
			    "and extended headers, are refused)", name, type);
			free(name);
			return -1;
		}
		*repositories |= strcmp(name, "repositories") == 0;
		char **slot = strcmp(name, "index.json") == 0 ? index :
		    strcmp(name, "manifest.json") == 0 ? manifest : NULL;
		free(name);
		off_t skip = (off_t)((size + BLOCK - 1) / BLOCK * BLOCK);
		if (slot && (*slot || size > JSON_MAX || type == '5')) {
			buf_puts(msg, "the archive's index.json or manifest.json is repeated, a "
			    "directory or too large");
			return -1;
		}
		if (slot) {
			*slot = xcalloc(1, (size_t)skip + 1);
			if (read_full(fd, *slot, (size_t)skip) < 0) {
				buf_puts(msg, "the archive ends inside a member");
				return -1;
			}
			(*slot)[size] = '\0';
			if (strlen(*slot) != size) {
				buf_puts(msg, "the archive's index.json or manifest.json holds a NUL");
				return -1;
			}
		} else if (lseek(fd, skip, SEEK_CUR) < 0) {
			buf_printf(msg, "%s", strerror(errno));
			return -1;
		}
	}
}

int
image_archive_check(const char *path, const char *ref, struct fx_buf *msg)
{
	char *index = NULL, *manifest = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = -1;

	if (fd < 0) {
		buf_printf(msg, "%s: %s", path, strerror(errno));
		return -1;
	}
	bool repositories = false;
	if (read_members(fd, &index, &manifest, &repositories, msg) < 0)
		;
	else if (repositories && !manifest)	/* docker load would read its names */
		buf_puts(msg, "the archive has a repositories file and no manifest.json");
	else
		rc = image_archive_check_json(index, manifest, ref, msg);
	close(fd);
	free(index);
	free(manifest);
	return rc;
}
