/*
 * containerfile.c - what a Containerfile makes its build read (see
 * containerfile.h): one pass over the text, logical line by logical line.
 */
#include "fusion/containerfile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Variables in scope: the last definition of a name wins. */
struct vars {
	struct fx_strv k, v;
};

static void
vars_set(struct vars *vs, const char *k, const char *v)
{
	strv_push(&vs->k, k);
	strv_push(&vs->v, v);
}

static const char *
vars_get(const struct vars *vs, const char *k, size_t klen)
{
	for (size_t i = vs->k.n; i-- > 0;)
		if (strlen(vs->k.v[i]) == klen && memcmp(vs->k.v[i], k, klen) == 0)
			return vs->v.v[i];
	return NULL;
}

static void
vars_free(struct vars *vs)
{
	strv_free(&vs->k);
	strv_free(&vs->v);
}

static bool
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Deep enough for any real file; a bound so that junk cannot recurse far. */
#define MAX_DEPTH 8

static void subst_into(struct fx_buf *out, const char *s, size_t n, const struct vars *vs,
    char esc, int depth);

/* The `}` that closes the `${` whose body starts at s (n bytes), or n. */
static size_t
closing_brace(const char *s, size_t n)
{
	int open = 1;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
			open++;
			i++;
		} else if (s[i] == '}' && --open == 0) {
			return i;
		}
	}
	return n;
}

/* ${BODY}: NAME, NAME:-word, NAME-word, NAME:+word, NAME+word, or another
 * operator (the value is taken as it is). */
static void
subst_braced(struct fx_buf *out, const char *body, size_t n, const struct vars *vs, char esc,
    int depth)
{
	size_t k = 0;

	while (k < n && name_char(body[k]))
		k++;
	const char *val = vars_get(vs, body, k);
	const char *op = body + k, *end = body + n;
	bool colon = op < end && *op == ':';
	if (colon)
		op++;
	if (op < end && (*op == '-' || *op == '+')) {
		bool set = val && (!colon || *val);
		const char *w = op + 1;
		if (*op == '-' ? !set : set)
			subst_into(out, w, (size_t)(end - w), vs, esc, depth + 1);
		else if (*op == '-')
			buf_puts(out, val);
		return;
	}
	if (val)
		buf_puts(out, val);
}

/* Substitute variables in s (n bytes), as the Dockerfile's word processing
 * does: quotes are removed, nothing is expanded inside single quotes, the
 * escape character takes the next one literally. */
static void
subst_into(struct fx_buf *out, const char *s, size_t n, const struct vars *vs, char esc, int depth)
{
	char quote = 0;

	if (depth > MAX_DEPTH) {
		buf_add(out, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else
				buf_putc(out, c);
		} else if (c == esc && i + 1 < n) {
			buf_putc(out, s[++i]);
		} else if ((c == '\'' && !quote) || c == '"') {
			quote = quote == c ? 0 : c;
		} else if (c == '$' && i + 1 < n && s[i + 1] == '{') {
			size_t len = closing_brace(s + i + 2, n - i - 2);
			subst_braced(out, s + i + 2, len, vs, esc, depth);
			i += 2 + len;
		} else if (c == '$' && i + 1 < n && (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '_')) {
			size_t k = i + 1;
			while (k < n && name_char(s[k]))
				k++;
			const char *val = vars_get(vs, s + i + 1, k - i - 1);
			if (val)
				buf_puts(out, val);
			i = k - 1;
		} else {
			buf_putc(out, c);
		}
	}
}

static char *
subst(const char *s, const struct vars *vs, char esc)
{
	struct fx_buf b = {0};

	subst_into(&b, s, strlen(s), vs, esc, 0);
	return b.s ? buf_detach(&b) : xstrdup("");
}

/* Words split at white space. */
static void
split_words(const char *s, struct fx_strv *out)
{
	while (*s) {
		while (*s && isspace((unsigned char)*s))
			s++;
		const char *w = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (s > w)
			strv_take(out, xstrndup(w, (size_t)(s - w)));
	}
}

/* A JSON array of strings (`["a", "b"]`) into out; false if s is not one
 * (it is then read as words). Escapes: \" \\ \/ and the letters; \u is
 * kept as it is (no real path needs it). */
static bool
json_words(const char *s, struct fx_strv *out)
{
	struct fx_strv w = {0};
	struct fx_buf b = {0};

	while (isspace((unsigned char)*s))
		s++;
	if (*s++ != '[')
		return false;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == ']' && w.n == 0)
			break;
		if (*s++ != '"')
			goto fail;
		buf_reset(&b);
		buf_puts(&b, "");
		while (*s && *s != '"') {
			if (*s == '\\' && s[1]) {
				s++;
				buf_putc(&b, *s == 'n' ? '\n' : *s == 't' ? '\t' : *s);
			} else {
				buf_putc(&b, *s);
			}
			s++;
		}
		if (*s++ != '"')
			goto fail;
		strv_push(&w, b.s);
		while (isspace((unsigned char)*s))
			s++;
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == ']')
			break;
		goto fail;
	}
	s++;
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		goto fail;
	for (size_t i = 0; i < w.n; i++)
		strv_push(out, w.v[i]);
	strv_free(&w);
	buf_free(&b);
	return true;
fail:
	strv_free(&w);
	buf_free(&b);
	return false;
}

/* The reader's state over one file. */
struct reader {
	struct fx_containerfile *cf;
	const struct fx_cf_var *args;
	size_t nargs;
	const char *target;
	char esc;
	bool in_stage;			/* a FROM was read */
	bool done;			/* past the target stage */
	struct vars global, stage;	/* global ARGs; the current stage's ARGs and ENVs */
	struct fx_strv stage_names;	/* lower-case, "" for an unnamed stage */
	struct fx_strv heredocs;	/* words ending the bodies still to skip */
	struct fx_strv heredoc_dash;	/* "-" when its body's lines may start with tabs */
};

static const char *
build_arg(const struct reader *r, const char *k)
{
	for (size_t i = r->nargs; i-- > 0;)
		if (r->args[i].key && strcmp(r->args[i].key, k) == 0)
			return r->args[i].value ? r->args[i].value : "";
	return NULL;
}

static void
add_once(struct fx_strv *sv, const char *s)
{
	if (*s && !strv_has(sv, s))
		strv_push(sv, s);
}

/* Does `ref` (--from, a mount's from=, a FROM) name an earlier stage? By
 * index only where `index` (COPY --from, mounts), by name always. */
static bool
is_stage(const struct reader *r, const char *ref, bool index)
{
	if (index && *ref && strspn(ref, "0123456789") == strlen(ref))
		return true;	/* a stage by index (one out of range fails the build) */
	for (size_t i = 0; i < r->stage_names.n; i++)
		if (*r->stage_names.v[i] && strcasecmp(r->stage_names.v[i], ref) == 0)
			return true;
	return false;
}

static void
read_image(struct reader *r, const char *ref, bool index)
{
	if (!*ref || is_stage(r, ref, index) || strcasecmp(ref, "scratch") == 0)
		return;
	add_once(&r->cf->images, ref);
}

/* A context path as written, cleaned: "./a/../b/" -> "b", "/" -> ".". */
static char *
context_path(const char *src)
{
	char *abs = xasprintf("/%s", src);
	char *clean = path_clean(abs);
	char *rel = xstrdup(clean[1] ? clean + 1 : ".");

	free(abs);
	free(clean);
	return rel;
}

/* FROM [--platform=P] IMAGE [AS NAME] */
static void
do_from(struct reader *r, struct fx_strv *w)
{
	size_t i = 0;

	if (r->in_stage && r->target && r->stage_names.n > 0 &&
	    strcasecmp(r->stage_names.v[r->stage_names.n - 1], r->target) == 0) {
		r->done = true;
		return;
	}
	while (i < w->n && strncmp(w->v[i], "--", 2) == 0)
		i++;
	if (i < w->n) {
		char *img = subst(w->v[i], &r->global, r->esc);
		read_image(r, img, false);
		free(img);
	}
	const char *name = i + 2 < w->n && strcasecmp(w->v[i + 1], "as") == 0 ? w->v[i + 2] : "";
	strv_push(&r->stage_names, name);
	r->in_stage = true;
	r->cf->stages++;
	vars_free(&r->stage);
	r->stage = (struct vars){0};
}

/* ARG NAME[=DEFAULT]...: the catalog's build arg wins over the default;
 * in a stage, a bare ARG brings the global value in. */
static void
do_arg(struct reader *r, struct fx_strv *w)
{
	struct vars *vs = r->in_stage ? &r->stage : &r->global;

	for (size_t i = 0; i < w->n; i++) {
		char *eq = strchr(w->v[i], '=');
		char *k = eq ? xstrndup(w->v[i], (size_t)(eq - w->v[i])) : xstrdup(w->v[i]);
		const char *given = build_arg(r, k);
		if (given) {
			vars_set(vs, k, given);
		} else if (eq) {
			char *v = subst(eq + 1, vs, r->esc);
			vars_set(vs, k, v);
			free(v);
		} else if (r->in_stage) {
			const char *g = vars_get(&r->global, k, strlen(k));
			if (g)
				vars_set(vs, k, g);
		}
		free(k);
	}
}

/* ENV K=V ... or ENV K V */
static void
do_env(struct reader *r, struct fx_strv *w, const char *rest)
{
	if (w->n == 0)
		return;
	if (!strchr(w->v[0], '=')) {
		const char *v = rest + strspn(rest, " \t");
		v += strlen(w->v[0]);
		v += strspn(v, " \t");
		char *val = subst(v, &r->stage, r->esc);
		vars_set(&r->stage, w->v[0], val);
		free(val);
		return;
	}
	for (size_t i = 0; i < w->n; i++) {
		char *eq = strchr(w->v[i], '=');
		if (!eq)
			continue;
		char *k = xstrndup(w->v[i], (size_t)(eq - w->v[i]));
		char *v = subst(eq + 1, &r->stage, r->esc);
		vars_set(&r->stage, k, v);
		free(k);
		free(v);
	}
}

static bool
flag_value(const char *word, const char *flag, const char **value)
{
	size_t n = strlen(flag);

	if (strncasecmp(word, flag, n) != 0 || word[n] != '=')
		return false;
	*value = word + n + 1;
	return true;
}

static bool
is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

bool
containerfile_is_git(const char *src)
{
	if (strncmp(src, "git://", 6) == 0 || strncmp(src, "git@", 4) == 0 ||
	    strncmp(src, "ssh://", 6) == 0)
		return true;
	if (!is_url(src))
		return false;
	size_t n = strcspn(src, "#");
	return n >= 4 && strncmp(src + n - 4, ".git", 4) == 0;
}

bool
containerfile_git_pinned(const char *src)
{
	const char *h = strchr(src, '#');

	if (!h)
		return false;
	size_t n = strcspn(h + 1, ":");
	return n == 40 && strspn(h + 1, "0123456789abcdefABCDEF") >= 40;
}

/* COPY|ADD [--from=X] [--checksum=C] [--flags] SRC... DEST */
static void
do_copy(struct reader *r, bool add, const char *rest)
{
	struct fx_strv w = {0}, f = {0};
	const char *from = NULL, *checksum = "";
	size_t i = 0;

	split_words(rest, &w);
	while (i < w.n && strncmp(w.v[i], "--", 2) == 0) {
		const char *v;
		if (flag_value(w.v[i], "--from", &v))
			from = v;
		else if (flag_value(w.v[i], "--checksum", &v))
			checksum = v;
		i++;
	}
	/* The rest of the line after the flags, as a JSON array or words. */
	const char *after = rest;
	for (size_t k = 0; k < i; k++) {
		after = strstr(after, w.v[k]);
		after = after ? after + strlen(w.v[k]) : rest + strlen(rest);
	}
	if (!json_words(after, &f))
		for (size_t k = i; k < w.n; k++)
			strv_push(&f, w.v[k]);
	struct vars *vs = &r->stage;
	if (from) {
		char *ref = subst(from, vs, r->esc);
		read_image(r, ref, true);
		free(ref);
		goto out;
	}
	for (size_t k = 0; k + 1 < f.n; k++) {	/* the last word is the destination */
		if (strncmp(f.v[k], "<<", 2) == 0)
			continue;	/* a heredoc: no file of the context */
		char *src = subst(f.v[k], vs, r->esc);
		if (add && containerfile_is_git(src)) {
			add_once(&r->cf->gits, src);
		} else if (add && is_url(src)) {
			if (!strv_has(&r->cf->urls, src)) {
				strv_push(&r->cf->urls, src);
				char *sum = subst(checksum, vs, r->esc);
				strv_take(&r->cf->checksums, sum);
			}
		} else {
			char *p = context_path(src);
			r->cf->copies = true;
			add_once(&r->cf->sources, p);
			free(p);
		}
		free(src);
	}
out:
	strv_free(&w);
	strv_free(&f);
}

/* One --mount= value: comma-separated KEY=VALUE (or a bare KEY). */
static void
do_mount(struct reader *r, const char *spec)
{
	char *s = subst(spec, &r->stage, r->esc);
	char *type = NULL, *source = NULL, *from = NULL;

	for (char *save = NULL, *f = strtok_r(s, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(f, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *v = eq + 1;
		if (strcasecmp(f, "type") == 0)
			type = v;
		else if (strcasecmp(f, "source") == 0 || strcasecmp(f, "src") == 0)
			source = v;
		else if (strcasecmp(f, "from") == 0)
			from = v;
	}
	bool bind = !type || strcasecmp(type, "bind") == 0;
	bool cache = type && strcasecmp(type, "cache") == 0;
	if (from && (bind || cache)) {
		read_image(r, from, true);
	} else if (bind) {
		char *p = context_path(source ? source : "");
		add_once(&r->cf->binds, p);
		free(p);
	}
	free(s);
}

/* RUN [--mount=...]... COMMAND */
static void
do_run(struct reader *r, struct fx_strv *w)
{
	for (size_t i = 0; i < w->n && strncmp(w->v[i], "--", 2) == 0; i++) {
		const char *v;
		if (flag_value(w->v[i], "--mount", &v))
			do_mount(r, v);
	}
}

/* Heredoc words of a RUN, COPY or ADD line ("<<EOF", "<<-'EOF'", "3<<EOF"):
 * their bodies follow the line, each up to a line holding its word. */
static void
note_heredocs(struct reader *r, struct fx_strv *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const char *s = w->v[i] + strspn(w->v[i], "0123456789");
		if (strncmp(s, "<<", 2) != 0)
			continue;
		s += 2;
		bool dash = *s == '-';
		s += dash;
		if (strchr(s, '<'))
			continue;
		struct fx_buf word = {0};
		for (; *s; s++)
			if (*s != '"' && *s != '\'')
				buf_putc(&word, *s);
		if (word.len) {
			strv_take(&r->heredocs, buf_detach(&word));
			strv_push(&r->heredoc_dash, dash ? "-" : "");
		}
		buf_free(&word);
	}
}

static void
instruction(struct reader *r, const char *line)
{
	const char *s = line + strspn(line, " \t");
	size_t n = strcspn(s, " \t");
	const char *rest = s + n;
	struct fx_strv w = {0};

	split_words(rest, &w);
#define IS(name) (n == strlen(name) && strncasecmp(s, name, n) == 0)
	bool copy = IS("COPY"), add = IS("ADD"), run = IS("RUN");
	if (copy || add || run)
		note_heredocs(r, &w);
	if (IS("FROM"))
		do_from(r, &w);
	else if (IS("ARG"))
		do_arg(r, &w);
	else if (!r->in_stage)
		;	/* only ARG may come before the first FROM */
	else if (IS("ENV"))
		do_env(r, &w, rest);
	else if (copy || add)
		do_copy(r, add, rest);
	else if (run)
		do_run(r, &w);
#undef IS
	strv_free(&w);
}

/* A parser directive at the top ("# escape=`"): true if line is one. */
static bool
directive(struct reader *r, const char *line)
{
	const char *s = line + strspn(line, " \t");

	if (*s++ != '#')
		return false;
	s += strspn(s, " \t");
	size_t k = 0;
	while (isalpha((unsigned char)s[k]))
		k++;
	const char *v = s + k + strspn(s + k, " \t");
	if (k == 0 || *v != '=')
		return false;
	v++;
	v += strspn(v, " \t");
	if (k == 6 && strncasecmp(s, "escape", 6) == 0 && (*v == '`' || *v == '\\'))
		r->esc = *v;
	return true;
}

static bool
blank(const char *s)
{
	return s[strspn(s, " \t\r\f\v")] == '\0';
}

static bool
comment(const char *s)
{
	return s[strspn(s, " \t")] == '#';
}

/* Does the line end in the escape character (white space after it
 * allowed)? Cut it off if so. */
static bool
continues(char *s, char esc)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || s[n - 1] != esc)
		return false;
	s[n - 1] = '\0';
	return true;
}

/* Is `line` the end of the first pending heredoc? */
static bool
heredoc_end(const struct reader *r, const char *line)
{
	if (r->heredoc_dash.v[0][0] == '-')
		line += strspn(line, "\t");
	return strcmp(line, r->heredocs.v[0]) == 0;
}

static void
heredoc_pop(struct reader *r)
{
	free(r->heredocs.v[0]);
	free(r->heredoc_dash.v[0]);
	memmove(r->heredocs.v, r->heredocs.v + 1, --r->heredocs.n * sizeof(char *));
	memmove(r->heredoc_dash.v, r->heredoc_dash.v + 1, --r->heredoc_dash.n * sizeof(char *));
}

void
containerfile_read(const char *text, size_t len, const struct fx_cf_var *args, size_t nargs,
    const char *target, struct fx_containerfile *cf)
{
	struct reader r = {.cf = cf, .args = args, .nargs = nargs, .target = target, .esc = '\\'};
	struct fx_buf logical = {0};
	bool top = true, open = false;
	const char *p = text, *end = text + len;

	while (p < end && !r.done) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *line = xstrndup(p, n);	/* stops at a NUL byte, which ends the line */
		p = nl ? nl + 1 : end;
		size_t l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[l - 1] = '\0';
		if (r.heredocs.n > 0) {
			if (heredoc_end(&r, line))
				heredoc_pop(&r);
		} else if (top && directive(&r, line)) {
			;
		} else if (blank(line) || comment(line)) {
			top = false;	/* and inside a continuation, dropped */
		} else {
			top = false;
			bool more = continues(line, r.esc);
			buf_puts(&logical, line);
			open = more;
			if (!more) {
				instruction(&r, logical.s);
				buf_reset(&logical);
			}
		}
		free(line);
	}
	if (open && logical.s && !r.done)
		instruction(&r, logical.s);
	buf_free(&logical);
	vars_free(&r.global);
	vars_free(&r.stage);
	strv_free(&r.stage_names);
	strv_free(&r.heredocs);
	strv_free(&r.heredoc_dash);
}

void
containerfile_free(struct fx_containerfile *cf)
{
	strv_free(&cf->images);
	strv_free(&cf->sources);
	strv_free(&cf->binds);
	strv_free(&cf->urls);
	strv_free(&cf->checksums);
	strv_free(&cf->gits);
	*cf = (struct fx_containerfile){0};
}
