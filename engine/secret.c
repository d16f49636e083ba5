/*
 * secret.c - keyed hashes of secrets and masking them in logs (see secret.h).
 */
#include "fusion/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "fusion/statedir.h"

#define SALT_LEN 32

/* The salt of the last state directory asked for (one per run). */
static char *salt_dir;
static unsigned char salt[SALT_LEN];

/* Read STATEDIR/salt, or make it: written aside, then linked into place,
 * so two runs making it at once agree on the first one's. */
static int
load_salt(const char *statedir, struct fx_buf *msg)
{
	char *path = path_join(statedir, "salt");
	char *tmp = xasprintf("%s.%ld", path, (long)getpid());
	char *data = NULL;
	size_t len = 0;
	int rc = -1;

	if (read_file(path, &data, &len) < 0 && errno == ENOENT) {
		unsigned char fresh[SALT_LEN];
		int fd = -1;
		if (getrandom(fresh, sizeof fresh, 0) != (ssize_t)sizeof fresh ||
		    statedir_mkdir(statedir) < 0 || (fd = statedir_open(tmp, O_WRONLY | O_TRUNC)) < 0 ||
		    write(fd, fresh, sizeof fresh) != (ssize_t)sizeof fresh || fsync(fd) < 0 ||
		    (link(tmp, path) < 0 && errno != EEXIST)) {
			buf_printf(msg, "%s: cannot make the secrets' salt: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			unlink(tmp);
			goto out;
		}
		close(fd);
		unlink(tmp);
		read_file(path, &data, &len);
	}
	if (!data || len != SALT_LEN) {
		buf_printf(msg, "%s: the secrets' salt cannot be read (%s); remove it, and every "
		    "node that holds a secret runs again", path, data ? "wrong size" : strerror(errno));
		goto out;
	}
	memcpy(salt, data, SALT_LEN);
	free(salt_dir);
	salt_dir = xstrdup(statedir);
	rc = 0;
out:
	free(data);
	free(tmp);
	free(path);
	return rc;
}

int
secret_mac(const char *statedir, const void *data, size_t len, char hex[65], struct fx_buf *msg)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if ((!salt_dir || strcmp(salt_dir, statedir) != 0) && load_salt(statedir, msg) < 0)
		return -1;
	if (!HMAC(EVP_sha256(), salt, SALT_LEN, data, len, mac, &n) || n != 32) {
		buf_puts(msg, "HMAC-SHA256 failed");
		return -1;
	}
	hex_encode(mac, 32, hex);
	return 0;
}

void
secret_mask_buf(struct fx_buf *b, const struct fx_strv *secrets)
{
	for (size_t i = 0; i < secrets->n && b->len; i++) {
		const char *sec = secrets->v[i];
		size_t sl = strlen(sec);
		if (sl == 0)
			continue;
		struct fx_buf out = {0};
		const char *p = b->s, *end = b->s + b->len, *hit;
		while ((hit = memmem(p, (size_t)(end - p), sec, sl))) {
			buf_add(&out, p, (size_t)(hit - p));
			buf_puts(&out, SECRET_MASK);
			p = hit + sl;
		}
		if (p == b->s)
			continue;	/* not there: leave the buffer alone */
		buf_add(&out, p, (size_t)(end - p));
		buf_free(b);
		*b = out;
	}
}
