/*
 * ignore.c - .containerignore / .dockerignore rules (see ignore.h).
 *
 * The rules decide which files go into a context hash, so they must pick
 * exactly the files podman or docker would send; and they run for every
 * file of large trees, on several threads at once.
 *
 * We follow moby's patternmatcher, which docker uses and buildah and podman
 * share through containers/storage.  A line is read as ignorefile.ReadAll
 * reads it, its syntax is checked with filepath.Match's rules, and it is
 * compiled the way patternmatcher compiles it to a regexp: "**" becomes
 * "(.*\/)?", or ".*" at the end, '*' becomes "[^/]*", '?' "[^/]".  Patterns
 * made only of plain characters are not regexps but an exact, a prefix
 * ("lit**") or a suffix ("**lit") test.  We keep those four kinds with
 * their quirks ("**.txt" is a plain suffix test, "**file" matches
 * "dir/myfile") and run the regexp kind as a small NFA over tokens instead
 * of a regex library.  One pass over the path tells whether the pattern
 * matches the path or one of its parent directories (MatchesOrParentMatches):
 * a parent matches when the NFA accepts just before a '/'.
 *
 * Known departures from docker, all in patterns nobody writes on purpose:
 * inside "[...]" docker pastes the characters into its regexp, so '*' and
 * '?' there are mangled and "\d" or "[:alpha:]" take regexp meanings; we
 * read classes as filepath.Match does.  "\x" for a letter or digit x is a
 * regexp escape in docker ("\b" a word boundary) and the plain x here.  A
 * reversed range "[z-a]" fails docker's regexp at match time; we reject it
 * when the pattern is added.
 *
 * Nothing is written after ignore_add_*, so matching needs no lock.
 */
#include "fusion/ignore.h"

#include "fusion/diag.h"
#include "fusion/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RUNE_ERROR 0xfffdu
#define RUN_WORDS 4	/* state sets on the stack: patterns of up to 255 tokens */

enum kind { K_EXACT, K_PREFIX, K_SUFFIX, K_REGEX };

enum {
	T_LIT,		/* one rune */
	T_ONE,		/* '?': [^/] */
	T_CLASS,	/* [...] */
	T_STAR,		/* '*': [^/]* */
	T_ANY,		/* trailing "**": .* */
	T_DOPT,		/* "**" inside: the optional group of (.*\/)? */
	T_DLOOP,	/* ... and its .*\/ */
};

struct tok {
	unsigned char type;
	bool neg;		/* T_CLASS: "[^...]" */
	uint32_t r;		/* T_LIT: the rune; T_CLASS: first range */
	uint32_t nr;		/* T_CLASS: number of ranges */
};

struct pat {
	char *text;		/* cleaned, without the '!' */
	bool excl;		/* "!pattern": an exception */
	enum kind kind;
	const char *lit;	/* K_EXACT, K_PREFIX, K_SUFFIX: points into text */
	size_t litlen;
	struct tok *tok;	/* K_REGEX */
	size_t ntok, tokcap;
	uint32_t *ranges;	/* lo, hi pairs of the classes */
	size_t nranges, rangecap;
	/* K_REGEX: ASCII literals every match starts with, ends with, contains */
	char *head, *tail, *need;
	size_t headlen, taillen, needlen;
	uint64_t *eps;		/* K_REGEX under 64 tokens: closure of each state */
	int slashes;		/* K_REGEX: '/'s in every match, or -1 if it varies */
};

struct fx_ignore {
	struct pat *v;
	size_t n, cap;
};

/* Go's utf8.DecodeRune: an invalid byte is RUNE_ERROR of width 1. */
static uint32_t
decode(const char *p, size_t n, size_t *w)
{
	const unsigned char *s = (const unsigned char *)p;
	unsigned lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t r;

	*w = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return RUNE_ERROR;
	if (s[0] < 0xe0) {
		need = 1;
		r = s[0] & 0x1f;
	} else if (s[0] < 0xf0) {
		need = 2;
		r = s[0] & 0x0f;
		lo = s[0] == 0xe0 ? 0xa0 : lo;
		hi = s[0] == 0xed ? 0x9f : hi;
	} else {
		need = 3;
		r = s[0] & 0x07;
		lo = s[0] == 0xf0 ? 0x90 : lo;
		hi = s[0] == 0xf4 ? 0x8f : hi;
	}
	if (n <= need || s[1] < lo || s[1] > hi)
		return RUNE_ERROR;
	for (size_t i = 1; i <= need; i++) {
		if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
			return RUNE_ERROR;
		r = r << 6 | (s[i] & 0x3f);
	}
	*w = need + 1;
	return r;
}

/* Go's unicode.IsSpace, which strings.TrimSpace uses. */
static bool
is_space(uint32_t r)
{
	return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xa0 ||
	       r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 ||
	       r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000;
}

/* Length of a white space character ending at s[n-1], or 0. */
static size_t
space_before(const char *s, size_t n)
{
	size_t w;

	for (size_t k = 1; k <= 3 && k <= n; k++) {
		uint32_t r = decode(s + n - k, k, &w);
		if (w == k && r != RUNE_ERROR && is_space(r))
			return k;
	}
	return 0;
}

/* strings.TrimSpace on s[0..*n): the new start, *n shortened. */
static const char *
trim(const char *s, size_t *n)
{
	size_t w;

	while (*n > 0 && is_space(decode(s, *n, &w))) {
		s += w;
		*n -= w;
	}
	while ((w = space_before(s, *n)) > 0)
		*n -= w;
	return s;
}

/* Go's filepath.Clean of s[0..n) with '/' separators; a new string. */
static char *
clean(const char *s, size_t n)
{
	char *out = xmalloc(n + 2);
	bool rooted = n > 0 && s[0] == '/';
	size_t w = 0, r = 0, dotdot = 0;

	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (s[r] == '/') {
			r++;
		} else if (s[r] == '.' && (r + 1 == n || s[r + 1] == '/')) {
			r++;
		} else if (s[r] == '.' && s[r + 1] == '.' && (r + 2 == n || s[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if (w != (rooted ? 1u : 0u))
				out[w++] = '/';
			while (r < n && s[r] != '/')
				out[w++] = s[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

static void
emit(struct pat *p, unsigned char type, uint32_t r)
{
	if (p->ntok == p->tokcap) {
		p->tokcap = p->tokcap ? 2 * p->tokcap : 16;
		p->tok = xreallocarray(p->tok, p->tokcap, sizeof *p->tok);
	}
	p->tok[p->ntok++] = (struct tok){ .type = type, .r = r };
}

static void
add_range(struct pat *p, uint32_t lo, uint32_t hi)
{
	if (p->nranges + 2 > p->rangecap) {
		p->rangecap = p->rangecap ? 2 * p->rangecap : 16;
		p->ranges = xreallocarray(p->ranges, p->rangecap, sizeof *p->ranges);
	}
	p->ranges[p->nranges++] = lo;
	p->ranges[p->nranges++] = hi;
}

/* One character of a class, possibly escaped (Go's getEsc). */
static const char *
class_char(const char *s, size_t n, size_t *i, uint32_t *r)
{
	size_t w;

	if (*i >= n)
		return "unterminated '['";
	if (s[*i] == '-' || s[*i] == ']')
		return "bad character class";
	if (s[*i] == '\\' && ++*i >= n)
		return "unterminated '['";
	*r = decode(s + *i, n - *i, &w);
	if (*r == RUNE_ERROR && w == 1)
		return "invalid UTF-8 in character class";
	*i += w;
	if (*i >= n)
		return "unterminated '['";
	return NULL;
}

/* The class at s[*i] == '[', read as filepath.Match reads it. */
static const char *
compile_class(struct pat *p, const char *s, size_t n, size_t *i)
{
	size_t j = *i + 1, first = p->nranges / 2;
	bool neg = j < n && s[j] == '^';
	const char *err;
	uint32_t lo, hi;

	j += neg;
	while (!(s[j] == ']' && p->nranges / 2 > first)) {
		if ((err = class_char(s, n, &j, &lo)))
			return err;
		hi = lo;
		if (s[j] == '-') {
			j++;
			if ((err = class_char(s, n, &j, &hi)))
				return err;
		}
		if (lo > hi)
			return "reversed range in character class";
		add_range(p, lo, hi);
	}
	emit(p, T_CLASS, (uint32_t)first);
	p->tok[p->ntok - 1].neg = neg;
	p->tok[p->ntok - 1].nr = (uint32_t)(p->nranges / 2 - first);
	*i = j + 1;
	return NULL;
}

/* A "**" at s[*i]: patternmatcher eats a following '/'. */
static enum kind
compile_globstar(struct pat *p, const char *s, size_t n, size_t *i, enum kind kind)
{
	*i += 2;
	if (*i < n && s[*i] == '/')
		++*i;
	if (*i < n) {
		emit(p, T_DOPT, 0);
		emit(p, T_DLOOP, 0);
		return K_REGEX;
	}
	if (kind == K_EXACT)
		return K_PREFIX;
	emit(p, T_ANY, 0);
	return K_REGEX;
}

static bool
ascii_lit(const struct pat *p, size_t k)
{
	return k < p->ntok && p->tok[k].type == T_LIT && p->tok[k].r < 0x80;
}

/* The ASCII literal tokens k..k+n as a string. */
static char *
lit_string(const struct pat *p, size_t k, size_t n)
{
	char *s = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = (char)p->tok[k + i].r;
	s[n] = '\0';
	return s;
}

/* Runs of ASCII literals for cheap tests before the NFA: the head (which
 * the NFA then skips), the tail, and the longest run between them. */
static void
find_literals(struct pat *p)
{
	size_t h = 0, t = 0, best = 0, at = 0, run = 0;

	while (ascii_lit(p, h))
		h++;
	while (t < p->ntok - h && ascii_lit(p, p->ntok - 1 - t))
		t++;
	for (size_t k = h; k <= p->ntok - t; k++) {
		if (k < p->ntok - t && ascii_lit(p, k)) {
			run++;
		} else {
			if (run > best) {
				best = run;
				at = k - run;
			}
			run = 0;
		}
	}
	p->headlen = h;
	p->head = h ? lit_string(p, 0, h) : NULL;
	p->taillen = t;
	p->tail = t ? lit_string(p, p->ntok - t, t) : NULL;
	p->needlen = best >= 2 ? best : 0;
	p->need = best >= 2 ? lit_string(p, at, best) : NULL;
}

/* Epsilon closures of the states, for patterns whose states fit a word. */
static void
find_eps(struct pat *p)
{
	if (p->ntok >= 64)
		return;
	p->eps = xcalloc(p->ntok + 1, sizeof *p->eps);
	p->eps[p->ntok] = UINT64_C(1) << p->ntok;
	for (size_t k = p->ntok; k-- > 0;) {
		p->eps[k] = UINT64_C(1) << k;
		switch (p->tok[k].type) {
		case T_DOPT:
			p->eps[k] |= p->eps[k + 2];
			/* fall through */
		case T_STAR:
		case T_ANY:
			p->eps[k] |= p->eps[k + 1];
			break;
		}
	}
}

static bool
in_class(const struct pat *p, const struct tok *t, uint32_t c)
{
	const uint32_t *r = p->ranges + 2 * (size_t)t->r;

	for (uint32_t i = 0; i < t->nr; i++)
		if (r[2 * i] <= c && c <= r[2 * i + 1])
			return !t->neg;
	return t->neg;
}

/* Without "**" or a class that takes '/', every match has as many '/'. */
static int
fixed_slashes(const struct pat *p)
{
	int n = 0;

	for (size_t k = 0; k < p->ntok; k++) {
		const struct tok *t = &p->tok[k];
		if (t->type == T_DOPT || t->type == T_ANY)
			return -1;
		if (t->type == T_CLASS && in_class(p, t, '/'))
			return -1;
		n += t->type == T_LIT && t->r == '/';
	}
	return n;
}

/* Compile p->text as patternmatcher's compile() does; NULL or what is wrong. */
static const char *
compile(struct pat *p)
{
	const char *s = p->text, *err;
	size_t n = strlen(s), i = 0, w;
	enum kind kind = K_EXACT;

	for (size_t ntokens = 0; i < n; ntokens++) {
		if (s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
			kind = compile_globstar(p, s, n, &i, kind);
			if (ntokens == 0)
				kind = K_SUFFIX;
			continue;
		}
		if (s[i] == '[') {
			if ((err = compile_class(p, s, n, &i)))
				return err;
			kind = K_REGEX;
			continue;
		}
		if (s[i] == '*' || s[i] == '?') {
			emit(p, s[i] == '*' ? T_STAR : T_ONE, 0);
			kind = K_REGEX;
			i++;
			continue;
		}
		if (s[i] == '\\' || s[i] == ']') {
			kind = K_REGEX;
			if (s[i] == '\\' && ++i == n)
				return "trailing '\\'";
		}
		emit(p, T_LIT, decode(s + i, n - i, &w));
		i += w;
	}
	p->kind = kind;
	p->lit = kind == K_SUFFIX ? s + 2 : s;
	p->litlen = kind == K_EXACT ? n : n - 2;
	if (kind == K_REGEX) {
		find_literals(p);
		find_eps(p);
		p->slashes = fixed_slashes(p);
	}
	return NULL;
}

static void
pat_free(struct pat *p)
{
	free(p->text);
	free(p->tok);
	free(p->ranges);
	free(p->head);
	free(p->tail);
	free(p->need);
	free(p->eps);
}

/*
 * The NFA: state k waits at token k, state ntok accepts.  The only
 * epsilon moves go forward, so one ascending pass closes a set.  This is
 * the general form, on sets of any size; patterns under 64 tokens take
 * step_small() with closures computed once by find_eps().
 */
struct run {
	const struct pat *p;
	size_t words;
	uint64_t *cur, *nxt, *heap;
	uint64_t buf[2 * RUN_WORDS];
};

static void
set_add(uint64_t *set, size_t k)
{
	set[k / 64] |= UINT64_C(1) << (k % 64);
}

static bool
set_has(const uint64_t *set, size_t k)
{
	return set[k / 64] >> (k % 64) & 1;
}

static void
closure(const struct pat *p, uint64_t *set, size_t words)
{
	for (size_t w = 0; w < words; w++) {
		uint64_t done = 0, bits;
		while ((bits = set[w] & ~done) != 0) {
			size_t k = w * 64 + (size_t)__builtin_ctzll(bits);
			done |= bits & -bits;
			if (k >= p->ntok)
				break;
			switch (p->tok[k].type) {
			case T_DOPT:
				set_add(set, k + 2);
				/* fall through */
			case T_STAR:
			case T_ANY:
				set_add(set, k + 1);
				break;
			}
		}
	}
}

/* Where state k goes on rune c: bit 0 stay, bit 1 advance. */
static int
move(const struct pat *p, size_t k, uint32_t c)
{
	const struct tok *t = &p->tok[k];

	switch (t->type) {
	case T_LIT:
		return c == t->r ? 2 : 0;
	case T_ONE:
		return c != '/' ? 2 : 0;
	case T_CLASS:
		return in_class(p, t, c) ? 2 : 0;
	case T_STAR:
		return c != '/';
	case T_ANY:
		return c != '\n';
	case T_DLOOP:
		return (c != '\n') | (c == '/') << 1;
	}
	return 0;
}

static void
run_start(struct run *r, const struct pat *p, size_t state)
{
	r->p = p;
	r->words = (p->ntok + 1 + 63) / 64;
	r->heap = NULL;
	r->cur = r->buf;
	if (r->words > RUN_WORDS)
		r->cur = r->heap = xcalloc(2 * r->words, sizeof *r->cur);
	r->nxt = r->cur + r->words;
	memset(r->cur, 0, r->words * sizeof *r->cur);
	set_add(r->cur, state);
	closure(p, r->cur, r->words);
}

/* Consume rune c; false when no state is left. */
static bool
run_step(struct run *r, uint32_t c)
{
	uint64_t *t, any = 0;

	memset(r->nxt, 0, r->words * sizeof *r->nxt);
	for (size_t w = 0; w < r->words; w++) {
		for (uint64_t bits = r->cur[w]; bits; bits &= bits - 1) {
			size_t k = w * 64 + (size_t)__builtin_ctzll(bits);
			int m = k < r->p->ntok ? move(r->p, k, c) : 0;
			if (m & 1)
				set_add(r->nxt, k);
			if (m & 2)
				set_add(r->nxt, k + 1);
		}
	}
	closure(r->p, r->nxt, r->words);
	t = r->cur;
	r->cur = r->nxt;
	r->nxt = t;
	for (size_t w = 0; w < r->words; w++)
		any |= r->cur[w];
	return any != 0;
}

static void
run_end(struct run *r)
{
	free(r->heap);
}

/* Is s[0..end) a place where a match counts: the path or a parent? */
static bool
boundary(const char *s, size_t len, size_t end)
{
	return end > 0 && (end == len || s[end] == '/');
}

/* Does s, or one of its parent directories, end with x[0..n)? */
static bool
ends_with(const char *s, size_t len, const char *x, size_t n)
{
	const char *slash;
	size_t end;

	for (size_t from = 0;; from = end + 1) {
		slash = memchr(s + from, '/', len - from);
		end = slash ? (size_t)(slash - s) : len;
		if (end > 0 && end >= n && memcmp(s + end - n, x, n) == 0)
			return true;
		if (!slash)
			return false;
	}
}

/* One step of the NFA of a pattern under 64 tokens. */
static uint64_t
step_small(const struct pat *p, uint64_t cur, uint32_t c)
{
	uint64_t nxt = 0;

	for (; cur; cur &= cur - 1) {
		size_t k = (size_t)__builtin_ctzll(cur);
		int m = k < p->ntok ? move(p, k, c) : 0;
		if (m & 1)
			nxt |= p->eps[k];
		if (m & 2)
			nxt |= p->eps[k + 1];
	}
	return nxt;
}

/* Run the NFA from state pos at s[pos]: does it accept at a boundary? */
static bool
run_small(const struct pat *p, const char *s, size_t len, size_t pos)
{
	uint64_t cur = p->eps[pos], accept = UINT64_C(1) << p->ntok;
	size_t w;

	for (;;) {
		if ((cur & accept) && boundary(s, len, pos))
			return true;
		if (pos == len || cur == 0)
			return false;
		cur = step_small(p, cur, decode(s + pos, len - pos, &w));
		pos += w;
	}
}

static bool
run_large(const struct pat *p, const char *s, size_t len, size_t pos)
{
	struct run r;
	size_t w;
	bool hit;

	run_start(&r, p, pos);
	hit = boundary(s, len, pos) && set_has(r.cur, p->ntok);
	while (!hit && pos < len && run_step(&r, decode(s + pos, len - pos, &w))) {
		pos += w;
		hit = boundary(s, len, pos) && set_has(r.cur, p->ntok);
	}
	run_end(&r);
	return hit;
}

/* Shorten *len to the path or parent that has n slashes; false if none. */
static bool
cut(const char *s, size_t *len, int n)
{
	const char *q = s, *end = s + *len;

	for (; n > 0; n--) {
		if ((q = memchr(q, '/', (size_t)(end - q))) == NULL)
			return false;
		q++;
	}
	if ((q = memchr(q, '/', (size_t)(end - q))) != NULL)
		*len = (size_t)(q - s);
	return true;
}

/* Cheap literal tests first; most patterns fail them for most paths. */
static bool
match_regex(const struct pat *p, const char *s, size_t len)
{
	size_t pos = p->headlen;

	if (p->slashes >= 0 && !cut(s, &len, p->slashes))
		return false;
	if (len < pos || (pos > 0 && memcmp(s, p->head, pos) != 0))
		return false;
	if (p->tail && !ends_with(s, len, p->tail, p->taillen))
		return false;
	if (p->need && !memmem(s + pos, len - pos, p->need, p->needlen))
		return false;
	if (p->eps)
		return run_small(p, s, len, pos);
	return run_large(p, s, len, pos);
}

/* "**lit": a plain suffix; "**\/lit" also matches "lit" itself. */
static bool
match_suffix(const struct pat *p, const char *s, size_t len)
{
	const char *x = p->lit;
	size_t n = p->litlen;

	if (ends_with(s, len, x, n))
		return true;
	return n > 1 && x[0] == '/' && n - 1 <= len && memcmp(s, x + 1, n - 1) == 0 &&
	       boundary(s, len, n - 1);
}

/* Does the pattern match s[0..len) or one of its parent directories? */
static bool
pat_match(const struct pat *p, const char *s, size_t len)
{
	switch (p->kind) {
	case K_EXACT:
		return p->litlen <= len && memcmp(s, p->lit, p->litlen) == 0 &&
		       boundary(s, len, p->litlen);
	case K_PREFIX:
		return p->litlen <= len && memcmp(s, p->lit, p->litlen) == 0;
	case K_SUFFIX:
		return match_suffix(p, s, len);
	default:
		return match_regex(p, s, len);
	}
}

/* Could the pattern match some path "dir/..." below dir[0..len)? */
static bool
may_match_below(const struct pat *p, const char *dir, size_t len)
{
	struct run r;
	size_t pos = 0, w;
	bool alive = true;

	switch (p->kind) {
	case K_EXACT:
		return p->litlen > len + 1 && memcmp(p->lit, dir, len) == 0 &&
		       p->lit[len] == '/';
	case K_PREFIX:
		for (size_t i = 0; i < p->litlen && i <= len; i++)
			if (p->lit[i] != (i < len ? dir[i] : '/'))
				return false;
		return true;
	case K_SUFFIX:
		return true;
	default:
		break;
	}
	run_start(&r, p, 0);
	while (alive && pos < len) {
		alive = run_step(&r, decode(dir + pos, len - pos, &w));
		pos += w;
	}
	if (alive && run_step(&r, '/')) {
		/* alive beyond the accepting state: more can follow "dir/" */
		alive = false;
		for (size_t k = 0; k < p->ntok && !alive; k++)
			alive = set_has(r.cur, k);
	} else {
		alive = false;
	}
	run_end(&r);
	return alive;
}

static void
bad_pattern(const char *origin, int line, const char *s, size_t n, const char *why)
{
	if (origin && line > 0)
		fx_error("%s:%d: bad pattern \"%.*s\": %s", origin, line, (int)n, s, why);
	else if (origin)
		fx_error("%s: bad pattern \"%.*s\": %s", origin, (int)n, s, why);
	else
		fx_error("bad pattern \"%.*s\": %s", (int)n, s, why);
}

/* ignorefile.ReadAll's treatment of one line: the pattern it passes on. */
static char *
read_line(const char *s, size_t n)
{
	bool invert;
	char *c, *out;

	s = trim(s, &n);
	if (n == 0)
		return NULL;
	invert = s[0] == '!';
	if (invert) {
		s++;
		n--;
		s = trim(s, &n);
		if (n == 0)
			return xstrdup("!");
	}
	c = clean(s, n);
	out = xasprintf("%s%s", invert ? "!" : "", c[0] == '/' && c[1] ? c + 1 : c);
	free(c);
	return out;
}

/* patternmatcher.New's treatment of what ReadAll passed on. */
static const char *
new_pattern(struct pat *p, const char *line)
{
	size_t n = strlen(line);
	const char *s = trim(line, &n), *err;
	char *c;

	if (n == 0)
		return "";
	c = clean(s, n);
	if (c[0] == '!' && !c[1]) {
		free(c);
		return "illegal exclusion pattern: nothing after '!'";
	}
	p->excl = c[0] == '!';
	p->text = xstrdup(c + p->excl);
	free(c);
	if ((err = compile(p)) != NULL)
		pat_free(p);
	return err;
}

static int
add_line(struct fx_ignore *ig, const char *s, size_t n, const char *origin, int line)
{
	struct pat p = {0};
	const char *err;
	char *text;

	if (n > 0 && s[0] == '#')
		return 0;
	if ((text = read_line(s, n)) == NULL)
		return 0;
	err = new_pattern(&p, text);
	free(text);
	if (err && !*err)
		return 0;
	if (err) {
		s = trim(s, &n);
		bad_pattern(origin, line, s, n, err);
		return -1;
	}
	if (ig->n == ig->cap) {
		ig->cap = ig->cap ? 2 * ig->cap : 16;
		ig->v = xreallocarray(ig->v, ig->cap, sizeof *ig->v);
	}
	ig->v[ig->n++] = p;
	return 0;
}

struct fx_ignore *
ignore_new(void)
{
	return xcalloc(1, sizeof(struct fx_ignore));
}

int
ignore_add_text(struct fx_ignore *ig, const char *text, size_t len, const char *origin)
{
	const char *end = text + len, *nl;
	int rc = 0, line = 0;

	if (len == 0)
		return 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3;
	for (; text < end; text = nl + 1) {
		size_t n;
		nl = memchr(text, '\n', (size_t)(end - text));
		if (!nl)
			nl = end;
		n = (size_t)(nl - text);
		if (n > 0 && text[n - 1] == '\r')
			n--;
		if (add_line(ig, text, n, origin, ++line) < 0)
			rc = -1;
	}
	return rc;
}

int
ignore_add_pattern(struct fx_ignore *ig, const char *pattern, const char *origin, int line)
{
	return add_line(ig, pattern, strlen(pattern), origin, line);
}

void
ignore_free(struct fx_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++)
		pat_free(&ig->v[i]);
	free(ig->v);
	free(ig);
}

size_t
ignore_count(const struct fx_ignore *ig)
{
	return ig->n;
}

/* The path as patternmatcher sees it: no "./" in front, no '/' behind. */
static const char *
norm(const char *s, size_t *len)
{
	while (s[0] == '.' && s[1] == '/')
		s += 2;
	*len = strlen(s);
	while (*len > 1 && s[*len - 1] == '/')
		--*len;
	if (*len == 1 && s[0] == '.')
		*len = 0;	/* "." is the context itself: never excluded */
	return s;
}

/* Index of the last pattern matching s (that is the one that decides), or n. */
static size_t
deciding(const struct fx_ignore *ig, const char *s, size_t len)
{
	for (size_t i = ig->n; i-- > 0;)
		if (pat_match(&ig->v[i], s, len))
			return i;
	return ig->n;
}

bool
ignore_match(const struct fx_ignore *ig, const char *relpath, bool is_dir)
{
	size_t len, i;

	relpath = norm(relpath, &len);
	if (len == 0)
		return false;
	i = deciding(ig, relpath, len);
	return i < ig->n && !ig->v[i].excl;
}

/*
 * Every pattern that matches the directory matches all below it too, so
 * below it the decision comes from the same pattern or a later one; only a
 * later exception that can match inside the directory may re-include.
 */
bool
ignore_dir_prunable(const struct fx_ignore *ig, const char *relpath)
{
	size_t len, i;

	relpath = norm(relpath, &len);
	if (len == 0)
		return false;
	i = deciding(ig, relpath, len);
	if (i == ig->n || ig->v[i].excl)
		return false;
	for (i++; i < ig->n; i++)
		if (ig->v[i].excl && may_match_below(&ig->v[i], relpath, len))
			return false;
	return true;
}
