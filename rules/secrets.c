/*
 * secrets.c - the catalog's `secrets: {HELM.KEY: ENV_VAR}` as helm gets
 * them (see secret.h for what keeps them out of everything else).
 *
 * The value is read from the environment when it is needed, never kept:
 * a chart's and a release's keys hold "secret:KEY" = its keyed hash, and
 * helm reads it from STATEDIR/secrets/KIND-NAME.yaml, a values file of
 * mode 0600 (in the 0700 state directory) given with -f after the
 * catalog's own values files, which the executor removes once helm is
 * done. A secret is never on a command line: /proc/PID/cmdline is
 * readable by every user.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/manifest.h"
#include "fusion/rules.h"
#include "fusion/secret.h"
#include "fusion/statedir.h"

const struct fx_kv *
rules_secret_missing(const struct fx_svc *s)
{
	for (size_t i = 0; i < s->secrets.n; i++)
		if (!getenv(s->secrets.v[i].value))
			return &s->secrets.v[i];
	return NULL;
}

/* The value of a secret, or NULL after saying which variable is unset. */
static const char *
value_of(const struct fx_kv *kv, struct fx_buf *msg)
{
	const char *v = getenv(kv->value);

	if (!v)
		buf_printf(msg, "secret %s: the environment variable %s is not set", kv->key,
		    kv->value);
	return v;
}

int
rules_secret_inputs(struct fx_rules *r, const struct fx_svc *s, struct fx_manifest *m,
    struct fx_buf *msg)
{
	for (size_t i = 0; i < s->secrets.n; i++) {
		const struct fx_kv *kv = &s->secrets.v[i];
		const char *v = value_of(kv, msg);
		char hex[65];
		if (!v || secret_mac(r->statedir, v, strlen(v), hex, msg) < 0)
			return -1;
		char *name = xasprintf("secret:%s", kv->key);
		char *val = xasprintf("hmac:%.32s", hex);
		manifest_add(m, name, val);
		free(name);
		free(val);
	}
	return 0;
}

enum fx_said
rules_say_secret(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	const char *key = rules_after(c->name, "secret:");

	if (!key)
		return FX_SAID_NOTHING;
	if (brief)
		buf_printf(out, "secret %s %s", key, change_verb(c->op));
	else if (c->op == 'M')
		buf_printf(out, "secret %s: " SECRET_MASK " -> " SECRET_MASK " (a new value)", key);
	else
		buf_printf(out, "secret %s %s: " SECRET_MASK, key, change_verb(c->op));
	return FX_SAID_VALUE;
}

char *
rules_secrets_path(struct fx_rules *r, const struct fx_node *n)
{
	const struct fx_rule_node *d = n->data;

	if (!d->svc->secrets.n)
		return NULL;
	char *name = xasprintf("secrets/%s-%s.yaml", n->kind->name, n->target);
	char *p = path_join(r->statedir, name);
	free(name);
	return p;
}

/* The parts of a dotted helm path ("a\.b.c": "a.b", "c"), unescaped. */
static void
split_path(const char *key, struct fx_strv *parts)
{
	struct fx_buf part = {0};

	buf_puts(&part, "");
	for (const char *p = key;; p++) {
		if (*p == '\\' && p[1]) {
			buf_putc(&part, *++p);
			continue;
		}
		if (*p && *p != '.') {
			buf_putc(&part, *p);
			continue;
		}
		strv_take(parts, buf_detach(&part));
		buf_puts(&part, "");
		if (!*p)
			break;
	}
	buf_free(&part);
}

/*
 * The mapping for secrets[idx[0..n)] below `depth` parts, as block YAML at
 * `indent`. The catalog made sure no key lies above or below another, so a
 * name is either one value or a mapping.
 */
static void
emit(struct fx_buf *b, struct fx_strv *paths, const char **values, size_t *idx, size_t n,
    size_t depth, int indent)
{
	bool *done = xcalloc(n + 1, sizeof(*done));

	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		const char *name = paths[idx[i]].v[depth];
		size_t *sub = xcalloc(n + 1, sizeof(*sub));
		size_t k = 0;
		for (size_t j = i; j < n; j++)
			if (!done[j] && strcmp(paths[idx[j]].v[depth], name) == 0) {
				done[j] = true;
				sub[k++] = idx[j];
			}
		buf_printf(b, "%*s", indent, "");
		buf_json_str(b, name);	/* JSON strings are YAML double-quoted scalars */
		if (paths[sub[0]].n == depth + 1) {
			buf_puts(b, ": ");
			buf_json_str(b, values[sub[0]]);
			buf_putc(b, '\n');
		} else {
			buf_puts(b, ":\n");
			emit(b, paths, values, sub, k, depth + 1, indent + 2);
		}
		free(sub);
	}
	free(done);
}

/* Is s UTF-8 text (a values file is YAML, which is Unicode)? */
static bool
utf8_text(const char *s)
{
	size_t n = strlen(s);
	uint32_t cp;

	for (size_t i = 0, l; i < n; i += l)
		if ((l = utf8_len((const unsigned char *)s + i, n - i, &cp)) == 0)
			return false;
	return true;
}

int
rules_secrets_file(struct fx_rules *r, struct fx_node *n, struct fx_cmd *cmd, struct fx_buf *msg)
{
	const struct fx_rule_node *d = n->data;
	const struct fx_kvlist *sec = &d->svc->secrets;
	char *path = rules_secrets_path(r, n);

	if (!path || r->dry_run) {
		free(path);
		return 0;
	}
	struct fx_strv *paths = xcalloc(sec->n + 1, sizeof(*paths));
	const char **values = xcalloc(sec->n + 1, sizeof(*values));
	size_t *idx = xcalloc(sec->n + 1, sizeof(*idx));
	struct fx_buf yaml = {0};
	int rc = 0;

	for (size_t i = 0; i < sec->n && rc == 0; i++) {
		values[i] = value_of(&sec->v[i], msg);
		if (!values[i])
			rc = -1;
		else if (!utf8_text(values[i])) {
			buf_printf(msg, "secret %s: the value of %s is not UTF-8 text, which helm "
			    "cannot read", sec->v[i].key, sec->v[i].value);
			rc = -1;
		} else {
			strv_push(&cmd->redact, values[i]);
		}
		split_path(sec->v[i].key, &paths[i]);
		idx[i] = i;
	}
	if (rc == 0) {
		emit(&yaml, paths, values, idx, sec->n, 0, 0);
		int fd = -1;
		char *dir = path_dir(path);
		int made = statedir_mkdir(dir);
		free(dir);
		if (made < 0 || (fd = statedir_open(path, O_WRONLY | O_TRUNC)) < 0 ||
		    write(fd, yaml.s, yaml.len) != (ssize_t)yaml.len) {
			buf_printf(msg, "%s: %s", path, strerror(errno));
			rc = -1;
			unlink(path);
		} else {
			strv_push(&cmd->remove, path);
		}
		if (fd >= 0)
			close(fd);
	}
	/* The text held the values: gone before the memory is reused. */
	if (yaml.s)
		explicit_bzero(yaml.s, yaml.len);
	buf_free(&yaml);
	for (size_t i = 0; i < sec->n; i++)
		strv_free(&paths[i]);
	free(paths);
	free(values);
	free(idx);
	free(path);
	return rc;
}
