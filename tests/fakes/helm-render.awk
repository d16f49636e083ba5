# helm-render.awk - values merging and template rendering for the fake helm.
# POSIX awk (runs under mawk): no gawk extensions.
#
#   awk -f helm-render.awk -v chart=DIR -v rel_name=NAME -v rel_ns=NS \
#       -v revision=N -v tprefix=PREFIX -v values_out=FILE -v meta_out=FILE \
#       ARG...
#
# ARGs are read in BEGIN, in order; a leading letter says what each is:
#   f<path>   a values file (-f), merged over the chart's values.yaml
#   s<k=v,..> --set (typed: ints, true/false, null), t<k=v,..> --set-string
#   T<path>   a template file, rendered in the order given
# The chart's Chart.yaml and values.yaml are read first. The manifest goes to
# stdout; the computed values (sorted key=value lines, dotted keys, newlines
# escaped as \n) to values_out; the chart's name, version and appVersion
# (one a line) to meta_out. Errors: "Error: ..." on stderr, exit status 1.
#
# The YAML reader covers what values files use: nested block mappings and
# sequences, plain/quoted scalars, comments, |/> block scalars, and one-line
# flow collections ({a: 1, b: [x, y]}).
# Scalars are typed as helm's YAML library types them (YAML 1.1: yes/no/on/
# off are booleans; numbers become float64 and print as Go prints them, so
# 1000000 renders as 1e+06, as it does with the real helm).
#
# The template language is the part fusion's charts use: {{ .Values.a.b }},
# {{ .Release.Name|Namespace|Service|Revision }}, {{ .Chart.Name|Version|
# AppVersion }} and {{/* comments */}}; whitespace inside the braces is free.
# Anything else is an error naming the file and line, so a chart that the
# fake cannot render fails loudly instead of rendering wrongly.
#
# Values live in V: dotted path -> type letter + text, where the type is
#   s string, n YAML number, i --set integer, b boolean, M empty map, L empty list
# Maps are implicit (a path with children); a null deletes a path, as helm's
# coalescing does.

function fail(msg) {
	printf "Error: %s\n", msg > "/dev/stderr"
	exit 1
}

function yaml_fail(file, line, msg) {
	fail("failed to parse " file ": error converting YAML to JSON: yaml: line " line ": " msg)
}

function trim(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}

# Index of the quote that closes a quoted scalar starting at s's first char; 0 if none.
function close_quote(s,   q, i, c, n) {
	q = substr(s, 1, 1)
	n = length(s)
	for (i = 2; i <= n; i++) {
		c = substr(s, i, 1)
		if (q == "\"" && c == "\\") { i++; continue }
		if (c == q) {
			if (q == "'" && substr(s, i + 1, 1) == "'") { i++; continue }
			return i
		}
	}
	return 0
}

# Drop a trailing comment (" #..." outside quotes) and trailing blanks.
function strip_comment(s,   i, p) {
	if (s ~ /^["']/) {
		i = close_quote(s)
		if (i == 0) return s
		p = substr(s, i + 1)
		if (match(p, /^[ \t]+#/)) p = ""
		return trim(substr(s, 1, i) p)
	}
	if (s ~ /^#/) return ""
	if (match(s, /[ \t]#/)) s = substr(s, 1, RSTART - 1)
	return trim(s)
}

# Is t a mapping entry "key: rest"? Sets KEY and REST.
function match_key(t,   i, rest) {
	if (t ~ /^["']/) {
		i = close_quote(t)
		if (i == 0) return 0
		rest = substr(t, i + 1)
		if (!match(rest, /^[ \t]*:([ \t]|$)/)) return 0
		KEY = unquote(substr(t, 1, i))
		REST = trim(substr(rest, RLENGTH + 1))
		return 1
	}
	if (t ~ /^[\[{]/) return 0
	if (!match(t, /:([ \t]|$)/)) return 0
	KEY = trim(substr(t, 1, RSTART - 1))
	REST = trim(substr(t, RSTART + 1))
	return 1
}

function unquote(s,   q, body, out, i, c, n) {
	q = substr(s, 1, 1)
	body = substr(s, 2, length(s) - 2)
	if (q == "'") {
		gsub(/''/, "'", body)
		return body
	}
	out = ""
	n = length(body)
	for (i = 1; i <= n; i++) {
		c = substr(body, i, 1)
		if (c == "\\" && i < n) {
			i++
			c = substr(body, i, 1)
			if (c == "n") c = "\n"
			else if (c == "t") c = "\t"
			else if (c == "r") c = "\r"
			else if (c == "0") c = ""
		}
		out = out c
	}
	return out
}

# Type a scalar as written after "key:" or "- ".
function scalar(s, file, line,   i) {
	if (s ~ /^["']/) {
		i = close_quote(s)
		if (i == 0) yaml_fail(file, line, "found unexpected end of stream")
		if (trim(substr(s, i + 1)) != "") yaml_fail(file, line, "did not find expected key")
		return "s" unquote(substr(s, 1, i))
	}
	if (s ~ /^\{[ \t]*\}$/) return "M"
	if (s ~ /^\[[ \t]*\]$/) return "L"
	if (s ~ /^[&*]/) fail("the fake helm reads no YAML anchors or aliases (" file " line " line ")")
	if (s == "" || s == "~" || s == "null" || s == "Null" || s == "NULL") return "N"
	if (s ~ /^(yes|Yes|YES|true|True|TRUE|on|On|ON)$/) return "btrue"
	if (s ~ /^(no|No|NO|false|False|FALSE|off|Off|OFF)$/) return "bfalse"
	if (s ~ /^[-+]?[0-9]+$/ || s ~ /^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ || s ~ /^[-+]?[0-9]+[eE][-+]?[0-9]+$/)
		return "n" s
	return "s" s
}

# One-line flow collections: {a: 1, b: [x, y]} and [a, {b: c}], nested.
# The cursor is FL_P in FL_S.
function flow_load(s, path, A, LISTS, file, line) {
	FL_S = s; FL_P = 1; FL_FILE = file; FL_LINE = line
	flow_value(path, A, LISTS)
	flow_ws()
	if (FL_P <= length(FL_S)) yaml_fail(file, line, "did not find expected <document end>")
}

function flow_ws() {
	while (FL_P <= length(FL_S) && substr(FL_S, FL_P, 1) ~ /[ \t]/) FL_P++
}

function flow_next(what,   c) {	# consume "," or the closing bracket; 1 if closed
	flow_ws()
	c = substr(FL_S, FL_P, 1)
	FL_P++
	if (c == what) return 1
	if (c != ",") yaml_fail(FL_FILE, FL_LINE, "did not find expected ',' or '" what "' (flow collections must stay on one line in the fake)")
	return 0
}

function flow_value(path, A, LISTS,   c, k, n) {
	flow_ws()
	c = substr(FL_S, FL_P, 1)
	if (c == "{") {
		FL_P++
		flow_ws()
		if (substr(FL_S, FL_P, 1) == "}") { FL_P++; A[path] = "M"; return }
		do {
			flow_ws()
			k = flow_text(1)
			flow_ws()
			if (substr(FL_S, FL_P, 1) != ":") yaml_fail(FL_FILE, FL_LINE, "did not find expected ':'")
			FL_P++
			flow_value((path == "") ? k : path "." k, A, LISTS)
		} while (!flow_next("}"))
		return
	}
	if (c == "[") {
		FL_P++
		LISTS[path] = 1
		flow_ws()
		if (substr(FL_S, FL_P, 1) == "]") { FL_P++; A[path] = "L"; return }
		n = 0
		do {
			flow_value(path "." n, A, LISTS)
			n++
		} while (!flow_next("]"))
		return
	}
	A[path] = scalar(flow_text(0), FL_FILE, FL_LINE)
}

# A scalar's text: quoted (kept quoted for scalar(), unquoted for keys), or
# plain up to a flow indicator (and, for keys, up to the ':').
function flow_text(iskey,   c, i, t, start) {
	c = substr(FL_S, FL_P, 1)
	if (c == "\"" || c == "'") {
		i = close_quote(substr(FL_S, FL_P))
		if (i == 0) yaml_fail(FL_FILE, FL_LINE, "found unexpected end of stream")
		t = substr(FL_S, FL_P, i)
		FL_P += i
		return iskey ? unquote(t) : t
	}
	start = FL_P
	while (FL_P <= length(FL_S)) {
		c = substr(FL_S, FL_P, 1)
		if (c == "," || c == "]" || c == "}") break
		if (iskey && c == ":") break
		FL_P++
	}
	return trim(substr(FL_S, start, FL_P - start))
}

# Text of a block scalar from its lines L[1..nl], per its header (|, |-, >, ...).
function block_text(L, nl, style,   i, ind, out, line, chomp, folded, prev_blank) {
	while (nl > 0 && L[nl] ~ /^[ \t]*$/) nl--
	ind = -1
	for (i = 1; i <= nl; i++) {
		if (L[i] ~ /^[ \t]*$/) continue
		match(L[i], /^ */)
		ind = RLENGTH
		break
	}
	chomp = (style ~ /-/) ? "" : "\n"
	folded = (style ~ /^>/)
	out = ""
	prev_blank = 1
	for (i = 1; i <= nl; i++) {
		line = substr(L[i], ind + 1)
		if (!folded) { out = out (i > 1 ? "\n" : "") line; continue }
		if (line == "") { out = out "\n"; prev_blank = 1; continue }
		out = out (prev_blank ? "" : " ") line
		prev_blank = 0
	}
	return (nl > 0) ? out chomp : ""
}

function stack_path(sk, n,   i, p) {
	p = ""
	for (i = 1; i <= n; i++) p = (i == 1) ? sk[i] : p "." sk[i]
	return p
}

# Read a YAML file into A (path -> typed value); sequences' paths go to LISTS.
# sk/si/sit/cnt/L are local arrays: the stack of open keys (key, indent,
# is-a-sequence-item), item counters, block scalar lines.
function yaml_load(file, A, LISTS, must,   sk, si, sit, cnt, L, n, nl, r, line, lineno, ind, txt, rest, path, blk, bpath, bind, bstyle, idx, p, k) {
	n = 0; nl = 0; blk = 0; lineno = 0
	while ((r = (getline line < file)) > 0) {
		lineno++
		sub(/\r$/, "", line)
		if (blk) {
			match(line, /^ */)
			if (line ~ /^[ \t]*$/ || RLENGTH > bind) { L[++nl] = line; continue }
			A[bpath] = "s" block_text(L, nl, bstyle)
			blk = 0; nl = 0
		}
		if (line ~ /^[ \t]*(#.*)?$/) continue
		if (line ~ /^(---|\.\.\.)([ \t]|$)/ || line ~ /^%/) continue
		match(line, /^ */)
		ind = RLENGTH
		txt = substr(line, ind + 1)
		if (txt ~ /^\t/) yaml_fail(file, lineno, "found character that cannot start any token")
		# "- " opens a sequence item (possibly several on one line: "- - x")
		while (txt ~ /^-([ \t]|$)/) {
			while (n > 0 && (si[n] > ind || (si[n] == ind && sit[n]))) n--
			path = stack_path(sk, n)
			LISTS[path] = 1
			if ((path in A) && A[path] == "N") delete A[path]
			idx = cnt[path] + 0
			cnt[path] = idx + 1
			n++; sk[n] = idx; si[n] = ind; sit[n] = 1
			rest = substr(txt, 2)
			match(rest, /^[ \t]*/)
			ind = ind + 1 + RLENGTH
			txt = substr(rest, RLENGTH + 1)
			if (txt ~ /^#/) txt = ""
		}
		if (txt == "") continue
		if (match_key(txt)) {
			while (n > 0 && si[n] >= ind) n--
			path = stack_path(sk, n)
			path = (path == "") ? KEY : path "." KEY
			rest = strip_comment(REST)
			if (rest == "") {
				n++; sk[n] = KEY; si[n] = ind; sit[n] = 0
				A[path] = "N"	# null unless children follow
				continue
			}
			if (rest ~ /^[|>][-+0-9]*$/) {
				blk = 1; bpath = path; bind = ind; bstyle = rest; nl = 0
				continue
			}
			if (rest ~ /^[\[{]/ && rest !~ /^(\{[ \t]*\}|\[[ \t]*\])$/) flow_load(rest, path, A, LISTS, file, lineno)
			else A[path] = scalar(rest, file, lineno)
		} else {
			if (!(n > 0 && sit[n])) yaml_fail(file, lineno, "could not find expected ':'")
			rest = strip_comment(txt)
			if (rest ~ /^[\[{]/ && rest !~ /^(\{[ \t]*\}|\[[ \t]*\])$/) flow_load(rest, stack_path(sk, n), A, LISTS, file, lineno)
			else A[stack_path(sk, n)] = scalar(rest, file, lineno)
		}
	}
	if (r < 0) {
		if (must) fail("open " file ": no such file or directory")
		return 0
	}
	close(file)
	if (blk) A[bpath] = "s" block_text(L, nl, bstyle)
	# a key that got children is a map, not a null
	for (p in A) {
		if (A[p] != "N") continue
		for (k in A) if (index(k, p ".") == 1) { delete A[p]; break }
	}
	return 1
}

function vdel_tree(p,   k) {
	if (p == "") { for (k in V) delete V[k]; return }
	delete V[p]
	for (k in V) if (index(k, p ".") == 1) delete V[k]
}

function has_children(p,   k) {
	if (p == "") { for (k in V) return 1; return 0 }
	for (k in V) if (index(k, p ".") == 1) return 1
	return 0
}

# Set one path: its old subtree goes, and a scalar ancestor is replaced by a map.
function vset(p, v,   q, i) {
	vdel_tree(p)
	q = p
	while ((i = lastdot(q)) > 0) {
		q = substr(q, 1, i - 1)
		if (q in V) delete V[q]
	}
	V[p] = v
}

function lastdot(s,   i, j) {
	j = 0
	while ((i = index(substr(s, j + 1), ".")) > 0) j += i
	return j
}

# helm's coalescing of one values file over what V holds: maps merge key by
# key, lists and scalars replace, null deletes, an empty map adds nothing.
function merge(A, LISTS,   p) {
	for (p in LISTS) vdel_tree(p)
	for (p in A) {
		if (A[p] == "N") vdel_tree(p)
		else if (A[p] == "M") { if (!(p in V) && !has_children(p)) vset(p, "M") }
		else vset(p, A[p])
	}
}

# --set and --set-string as helm's strvals parser reads them (helm/helm
# pkg/strvals/parser.go): a key runs to an unescaped '=' and splits into
# parts at unescaped '.'; an unescaped ',' in a key is an error, in a value
# the end of it; '\' makes the next character plain in both; a value that
# starts with an unescaped '{' is a list ({a,b}). A '.' that is part of a
# key's name (escaped: "prometheus\.io") is kept in V as SUBSEP, since V's
# paths are dotted; values_out shows it as "\.". List indexes ("a[0]") and
# list values are not supported by the fake: an error, never a wrong value.
function apply_set(spec, typed,   n, i, c, k, v) {
	n = length(spec)
	i = 1
	while (i <= n) {
		k = ""
		for (; i <= n; i++) {
			c = substr(spec, i, 1)
			if (c == "=" || c == ",") break
			if (c == "[") fail("the fake helm does not support list indexes in --set (" k "[)")
			if (c == "\\") {
				if (++i > n) fail("key \"" k "\" has no value")
				c = substr(spec, i, 1)
				if (c == ".") c = SUBSEP
			}
			k = k c
		}
		if (i > n) fail("key \"" k "\" has no value")
		if (c == ",") fail("key \"" k "\" has no value (cannot end with ,)")
		if (k == "" || k ~ /^\.|\.$|\.\./) fail("failed parsing --set data: key \"" k "\" is invalid")
		i++
		if (substr(spec, i, 1) == "{") fail("the fake helm does not support list values in --set (" k ")")
		v = ""
		for (; i <= n; i++) {
			c = substr(spec, i, 1)
			if (c == ",") { i++; break }
			if (c == "\\" && i < n) c = substr(spec, ++i, 1)
			v = v c
		}
		if (!typed) vset(k, "s" v)
		else if (v == "null") vdel_tree(k)
		else if (v == "true" || v == "false") vset(k, "b" v)
		else if (v ~ /^-?[0-9]+$/ && v !~ /^-?0[0-9]/) vset(k, "i" v)
		else vset(k, "s" v)
	}
}

# Go's %v of a float64, as text/template prints YAML numbers.
function gofloat(s,   neg, e, p, ip, fp, d, dp, nd, x, z, ax) {
	neg = ""
	if (substr(s, 1, 1) == "-") { neg = "-"; s = substr(s, 2) }
	else if (substr(s, 1, 1) == "+") s = substr(s, 2)
	e = 0
	if (match(s, /[eE]/)) { e = substr(s, RSTART + 1) + 0; s = substr(s, 1, RSTART - 1) }
	p = index(s, ".")
	if (p) { ip = substr(s, 1, p - 1); fp = substr(s, p + 1) } else { ip = s; fp = "" }
	d = ip fp
	dp = length(ip) + e
	while (d != "" && substr(d, 1, 1) == "0") { d = substr(d, 2); dp-- }
	sub(/0+$/, "", d)
	if (d == "") return neg "0"
	if (length(d) > 17) d = substr(d, 1, 17)
	nd = length(d)
	x = dp - 1
	if (x < -4 || x >= 6) {	# shortest %g switches to exponent form at 6
		ax = (x < 0) ? -x : x
		return neg substr(d, 1, 1) (nd > 1 ? "." substr(d, 2) : "") "e" (x < 0 ? "-" : "+") (ax < 10 ? "0" : "") ax
	}
	z = ""
	if (dp <= 0) { while (length(z) < -dp) z = z "0"; return neg "0." z d }
	if (dp >= nd) { while (length(z) < dp - nd) z = z "0"; return neg d z }
	return neg substr(d, 1, dp) "." substr(d, dp + 1)
}

function fmt(v,   t) {
	t = substr(v, 1, 1)
	if (t == "n") return gofloat(substr(v, 2))
	if (t == "M") return "map[]"
	if (t == "L") return "[]"
	return substr(v, 2)
}

# Go's %v of a map (sorted keys) or a list, as text/template prints them.
function fmt_tree(p,   k, rest, c, names, seen, n, i, j, t, out, pre, islist, cp) {
	pre = (p == "") ? "" : p "."
	n = 0
	for (k in V) {
		if (pre != "" && index(k, pre) != 1) continue
		rest = substr(k, length(pre) + 1)
		c = rest
		if (index(rest, ".")) c = substr(rest, 1, index(rest, ".") - 1)
		if (!(c in seen)) { seen[c] = 1; names[++n] = c }
	}
	islist = (p in ALL_LISTS)
	for (i = 2; i <= n; i++) {	# insertion sort: numeric for lists, bytewise for maps
		t = names[i]
		for (j = i - 1; j >= 1 && (islist ? names[j] + 0 > t + 0 : names[j] > t); j--) names[j + 1] = names[j]
		names[j + 1] = t
	}
	out = ""
	for (i = 1; i <= n; i++) {
		cp = pre names[i]
		out = out (i > 1 ? " " : "") (islist ? "" : names[i] ":") ((cp in V) ? fmt(V[cp]) : fmt_tree(cp))
	}
	return islist ? "[" out "]" : "map[" out "]"
}

function tfail(file, line, msg) {
	fail(tprefix "template: " chart_name "/templates/" file ":" line ": " msg)
}

function lookup(p, file, line, act,   q, i, up) {
	if (p in V) return fmt(V[p])
	if (p == "" || has_children(p)) return fmt_tree(p)
	# text/template: a field of a missing map is an error, a missing key is "<no value>"
	q = p
	while ((i = lastdot(q)) > 0) {
		up = substr(q, 1, i - 1)
		if (up in V) tfail(file, line, "executing \"" chart_name "/templates/" file "\" at <" act ">: can't evaluate field " substr(q, i + 1) " in type interface {}")
		if (!has_children(up)) tfail(file, line, "executing \"" chart_name "/templates/" file "\" at <" act ">: nil pointer evaluating interface {}." substr(q, i + 1))
		q = up
	}
	return "<no value>"
}

function action(raw, file, line,   a) {
	if (raw ~ /^\/\*.*\*\/$/) return ""
	if (raw ~ /^-[ \t]/ || raw ~ /[ \t]-$/) tfail(file, line, "the fake helm does not support whitespace trimming ({{- and -}})")
	a = trim(raw)
	if (a ~ /^\.Values(\.[A-Za-z_][A-Za-z0-9_]*)*$/) return lookup(substr(a, 9), file, line, a)
	if (a == ".Release.Name") return rel_name
	if (a == ".Release.Namespace") return rel_ns
	if (a == ".Release.Service") return "Helm"
	if (a == ".Release.Revision") return revision
	if (a == ".Release.IsInstall") return (revision == 1) ? "true" : "false"
	if (a == ".Release.IsUpgrade") return (revision == 1) ? "false" : "true"
	if (a == ".Chart.Name") return chart_name
	if (a == ".Chart.Version") return chart_version
	if (a == ".Chart.AppVersion") return chart_app_version
	tfail(file, line, "the fake helm does not support the action {{" raw "}}: it renders .Values.*, .Release.Name/Namespace/Service/Revision, .Chart.Name/Version/AppVersion and {{/* comments */}}")
}

function render(path, file,   line, lineno, out, res, i, j, r) {
	out = ""
	lineno = 0
	while ((r = (getline line < path)) > 0) {
		lineno++
		res = ""
		while ((i = index(line, "{{")) > 0) {
			res = res substr(line, 1, i - 1)
			line = substr(line, i + 2)
			j = index(line, "}}")
			if (j == 0) tfail(file, lineno, "unclosed action (the fake helm needs each action on one line)")
			res = res action(substr(line, 1, j - 1), file, lineno)
			line = substr(line, j + 2)
		}
		out = out res line "\n"
	}
	if (r < 0) fail("open " path ": no such file or directory")
	close(path)
	return out
}

# helm's output: each YAML document of each template, trimmed, after
# "---" and a "# Source:" line; empty documents are dropped.
function emit(text, file,   n, lines, i, doc) {
	n = split(text, lines, "\n")
	doc = ""
	for (i = 1; i <= n; i++) {
		if (lines[i] ~ /^---[ \t]*$/) { emit_doc(doc, file); doc = ""; continue }
		doc = doc lines[i] "\n"
	}
	emit_doc(doc, file)
}

function emit_doc(doc, file) {
	sub(/^[ \t\r\n]+/, "", doc)
	sub(/[ \t\r\n]+$/, "", doc)
	if (doc == "") return
	printf "---\n# Source: %s/templates/%s\n%s\n", chart_name, file, doc
}

function escape(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/\n/, "\\n", s)
	return s
}

BEGIN {
	# Chart.yaml: metadata; helm validates these three.
	yaml_load(chart "/Chart.yaml", C, CL, 1)
	if (!("apiVersion" in C)) fail("validation: chart.metadata.apiVersion is required")
	if (!("name" in C)) fail("validation: chart.metadata.name is required")
	if (!("version" in C)) fail("validation: chart.metadata.version is required")
	chart_name = substr(C["name"], 2)
	chart_version = substr(C["version"], 2)
	chart_app_version = ("appVersion" in C) ? substr(C["appVersion"], 2) : ""

	if (yaml_load(chart "/values.yaml", A, AL, 0)) merge(A, AL)
	for (k in AL) ALL_LISTS[k] = 1
	nt = 0
	for (i = 1; i < ARGC; i++) {
		kind = substr(ARGV[i], 1, 1)
		arg = substr(ARGV[i], 2)
		if (kind == "f") {
			for (k in A) delete A[k]
			for (k in AL) delete AL[k]
			yaml_load(arg, A, AL, 1)
			merge(A, AL)
			for (k in AL) ALL_LISTS[k] = 1
		} else if (kind == "s") apply_set(arg, 1)
		else if (kind == "t") apply_set(arg, 0)
		else if (kind == "T") T[++nt] = arg
	}
	ARGC = 1

	for (i = 1; i <= nt; i++) {
		file = T[i]
		sub(/^.*\//, "", file)
		emit(render(T[i], file), file)
	}

	if (values_out != "") {
		printf "" > values_out
		for (k in V) { kk = k; gsub(SUBSEP, "\\.", kk); printf "%s=%s\n", kk, escape(fmt(V[k])) > values_out }
		close(values_out)
	}
	if (meta_out != "") {
		printf "%s\n%s\n%s\n", chart_name, chart_version, chart_app_version > meta_out
		close(meta_out)
	}
	exit 0
}
