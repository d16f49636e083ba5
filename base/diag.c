/*
 * diag.c - the one reporting path (see diag.h).
 */
#include "fusion/diag.h"

#include <stdarg.h>
#include <stdio.h>

int fx_verbose;
bool fx_color;

static void
report(const char *prefix, const char *fmt, va_list ap)
{
	/* One fputs per message keeps lines whole when threads report. */
	char line[4096];
	int n = snprintf(line, sizeof line, "fusion: %s", prefix);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void
fx_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
}

void
fx_error_at(struct fx_loc loc, const char *fmt, ...)
{
	char prefix[1024];
	va_list ap;

	if (loc.file && loc.line > 0)
		snprintf(prefix, sizeof prefix, "%s:%d:%d: ", loc.file, loc.line, loc.col);
	else if (loc.file)
		snprintf(prefix, sizeof prefix, "%s: ", loc.file);
	else
		prefix[0] = '\0';
	va_start(ap, fmt);
	report(prefix, fmt, ap);
	va_end(ap);
}

void
fx_error_node(const char *node, const char *fmt, ...)
{
	char prefix[512];
	va_list ap;

	snprintf(prefix, sizeof prefix, "%s: ", node);
	va_start(ap, fmt);
	report(prefix, fmt, ap);
	va_end(ap);
}

void
fx_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

void
fx_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
}

void
fx_note(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "  %s\n", line);
}

void
fx_debug(const char *fmt, ...)
{
	va_list ap;
	if (!fx_verbose)
		return;
	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
}

const char *
fx_sgr(enum fx_colour c)
{
	static const char *const codes[] = {"\033[31m", "\033[32m", "\033[33m", "\033[2m",
	    "\033[0m"};
	return fx_color ? codes[c] : "";
}
