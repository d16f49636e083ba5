/*
 * share.c - the shared cache in a run (see share.h): lookups, downloads,
 * restoring, packing and uploads, for the scheduler in exec.c.
 */
#include "fusion/share.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/hash.h"
#include "fusion/statedir.h"

#define BIG_TRANSFER 4000000	/* bytes: shown with progress, size and rate */

/* What a job slot does for its node (fx_share_job.mode). */
enum mode {
	RUN,		/* the node's action (0: a zeroed job) */
	UNPACK,		/* restoring its output from the blob its lookup brought */
	RAN,		/* the action succeeded; recorded, it may be packed */
	RESTORED,	/* restored; recorded, nothing more */
	PACK,		/* packing its output for an upload (the node has finished) */
};

/* A node's way through the shared cache. */
struct node {
	struct fx_share *sh;
	struct fx_node *n;
	bool looked;		/* its lookup was made, hit or not */
	bool announced;		/* report_start came with the lookup */
	double started;
	char *blob;		/* downloaded and verified, to unpack */
	struct fx_remote_record rec;
	uint64_t bytes;		/* the download's size and time */
	double seconds;
};

struct fx_share {
	struct fx_share_conf c;
	struct node *v;		/* per node index */
	size_t n;
	int nlooking;		/* nodes whose lookup or download is in flight */
	bool down;		/* the cache failed: not asked again this run */
	bool upload_failed;
	bool cancelled;		/* an interrupt: nothing more is packed */
	char *tmpdir;		/* STATEDIR/tmp: blobs on their way */
};

/* Remove what a killed run left in STATEDIR/tmp. */
static void
clean_tmpdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

struct fx_share *
share_open(const struct fx_share_conf *conf)
{
	struct fx_share *sh;

	if (!conf->remote)
		return NULL;
	sh = xcalloc(1, sizeof(*sh));
	sh->c = *conf;
	sh->n = conf->g->n;
	sh->v = xcalloc(sh->n + 1, sizeof(*sh->v));
	for (size_t i = 0; i < sh->n; i++)
		sh->v[i] = (struct node){.sh = sh, .n = conf->g->nodes[i]};
	sh->tmpdir = path_join(conf->statedir, "tmp");
	statedir_mkdir(sh->tmpdir);
	clean_tmpdir(sh->tmpdir);
	return sh;
}

static void
drop_blob(struct node *v)
{
	if (v->blob) {
		unlink(v->blob);
		free(v->blob);
		v->blob = NULL;
	}
	remote_record_free(&v->rec);
}

bool
share_close(struct fx_share *sh)
{
	bool failed;

	if (!sh)
		return false;
	report_transfer(sh->c.report, NULL);
	for (size_t i = 0; i < sh->n; i++)
		drop_blob(&sh->v[i]);
	failed = sh->upload_failed;
	free(sh->v);
	free(sh->tmpdir);
	free(sh);
	return failed;
}

/* A node that holds a secret (local_only) is neither looked up nor
 * pushed: its blob would carry the secret to everyone who reads the
 * cache, and its key is salted per machine anyway. */
static bool
shares(struct fx_share *sh, struct fx_node *n)
{
	return sh && n->kind->pack && n->kind->unpack && !n->local_only &&
	    (!sh->down || sh->c.required);
}

/* STATEDIR/tmp/KIND-TARGET.SUFFIX: a blob on its way in or out (podman
 * save refuses a ':' in the file name). */
static char *
blob_path(struct fx_share *sh, struct fx_node *n, const char *suffix)
{
	char *name = xasprintf("%s-%s.%s", n->kind->name, n->target, suffix);
	char *p = path_join(sh->tmpdir, name);

	free(name);
	return p;
}

/* The cache itself failed (not one object in it): say so once, and leave
 * it alone for the rest of the run. */
static void
cache_down(struct fx_share *sh, const char *msg)
{
	if (sh->down)
		return;
	sh->down = true;
	report_clear(sh->c.report);
	fx_warn("shared cache: %s; going on without it", msg);
}

/* One line for a large transfer, once it is over. */
static void
transfer_note(struct fx_share *sh, const char *what, const char *id, uint64_t bytes,
    double secs)
{
	char size[32], rate[32];

	if (bytes < BIG_TRANSFER)
		return;
	remote_format_bytes(bytes, size, sizeof size);
	remote_format_bytes((uint64_t)((double)bytes / (secs > 0.001 ? secs : 0.001)), rate,
	    sizeof rate);
	char *line = xasprintf("%s %s %s the shared cache: %s in %.1fs (%s/s)", what, id,
	    strcmp(what, "uploaded") ? "from" : "to", size, secs, rate);
	report_note(sh->c.report, line);
	free(line);
}

/* The status line's part for the largest transfer in flight. */
static void
show_transfer(struct fx_share *sh)
{
	struct fx_remote_progress p;
	char done[32], total[32], rate[32];

	if (!remote_progress(sh->c.remote, &p) || p.total < BIG_TRANSFER) {
		report_transfer(sh->c.report, NULL);
		return;
	}
	remote_format_bytes(p.done, done, sizeof done);
	remote_format_bytes(p.total, total, sizeof total);
	remote_format_bytes((uint64_t)((double)p.done / (p.seconds > 0.001 ? p.seconds : 0.001)),
	    rate, sizeof rate);
	char *text = xasprintf("%s %s %s of %s at %s/s", p.op == FX_REMOTE_PUT ? "uploading" :
	    "restoring", p.label, done, total, rate);
	report_transfer(sh->c.report, text);
	free(text);
}

bool
share_busy(struct fx_share *sh)
{
	return sh && (sh->nlooking > 0 || remote_pending(sh->c.remote) > 0);
}

bool
share_wait(struct fx_share *sh, int fd, int timeout_ms)
{
	if (!sh)
		return false;
	remote_wait(sh->c.remote, fd, timeout_ms);	/* waits on fd too */
	show_transfer(sh);
	return true;
}

void
share_cancel(struct fx_share *sh)
{
	if (!sh || sh->cancelled)
		return;
	sh->cancelled = true;
	remote_cancel_all(sh->c.remote);
}

/*
 * ---- Lookups ----
 */

/* The lookup of n ended without a blob to unpack. A miss runs the node; a
 * fault warns and runs it (with required: fails it). */
static void
fall_back(struct node *v, enum fx_remote_status st, const char *msg)
{
	struct fx_share *sh = v->sh;
	bool fault = st != FX_REMOTE_MISSING && st != FX_REMOTE_CANCELLED;

	sh->nlooking--;
	if (fault && sh->c.required) {
		char *m = xasprintf("shared cache: %s (--remote-required)", msg);
		sh->c.looked(sh->c.arg, v->n, m, now_mono() - v->started);
		free(m);
		return;
	}
	if (st == FX_REMOTE_DOWN) {
		cache_down(sh, msg);
	} else if (fault) {
		report_clear(sh->c.report);
		fx_warn("%s: shared cache: %s; running it here", v->n->id, msg);
	}
	sh->c.looked(sh->c.arg, v->n, NULL, 0);
}

static void
on_blob(void *arg, const struct fx_remote_res *res)
{
	struct node *v = arg;

	if (res->status != FX_REMOTE_OK) {
		free(v->blob);
		v->blob = NULL;
		fall_back(v, res->status, res->msg);
		return;
	}
	v->bytes = res->bytes;
	v->seconds = res->seconds;
	v->sh->nlooking--;
	v->sh->c.looked(v->sh->c.arg, v->n, NULL, 0);	/* its slot unpacks v->blob */
}

static void
on_record(void *arg, const struct fx_remote_res *res)
{
	struct node *v = arg;
	struct fx_share *sh = v->sh;
	struct fx_node *n = v->n;
	struct fx_buf msg = {0};
	bool stopping = *sh->c.stopping;

	if (res->status == FX_REMOTE_MISSING)
		fx_debug("%s: not in the shared cache (lookup %.1f ms)", n->id, res->seconds * 1000);
	if (res->status != FX_REMOTE_OK || stopping) {
		fall_back(v, stopping ? FX_REMOTE_CANCELLED : res->status, res->msg);
		return;
	}
	if (remote_record_parse(res->body, res->len, &v->rec, &msg) < 0 ||
	    strcmp(v->rec.node, n->id) != 0) {
		char ac[FX_SHA256_HEX];
		remote_ac_name(n->id, n->key, ac);
		char *m = xasprintf("%s/ac/%s: %s", remote_url(sh->c.remote), ac,
		    msg.len ? msg.s : "the record of another node");
		remote_record_free(&v->rec);
		fall_back(v, FX_REMOTE_CORRUPT, m);
		free(m);
		buf_free(&msg);
		return;
	}
	v->blob = blob_path(sh, n, "blob");
	struct fx_remote_req req = {
		.op = FX_REMOTE_GET, .area = "cas", .name = v->rec.blob, .path = v->blob,
		.sha256 = v->rec.blob, .size = v->rec.size, .label = n->id,
		.done = on_blob, .arg = v,
	};
	remote_start(sh->c.remote, &req);
}

bool
share_wants_lookup(struct fx_share *sh, struct fx_node *n, bool has_manifest)
{
	return shares(sh, n) && !sh->v[n->index].looked && !sh->c.force && n->key[0] &&
	    has_manifest;
}

/* Look a stale node up, without a job slot: GET ac/NAME, then its blob. */
void
share_lookup(struct fx_share *sh, struct fx_node *n)
{
	struct node *v = &sh->v[n->index];
	char ac[FX_SHA256_HEX];

	v->looked = v->announced = true;
	v->started = now_mono();
	sh->nlooking++;
	report_start(sh->c.report, n->id, n->kind->name, n->target);
	if (sh->down) {		/* and --remote-required */
		fall_back(v, FX_REMOTE_DOWN, "it failed earlier in this run");
		return;
	}
	remote_ac_name(n->id, n->key, ac);
	struct fx_remote_req req = {
		.op = FX_REMOTE_GET, .area = "ac", .name = ac, .label = n->id,
		.done = on_record, .arg = v,
	};
	remote_start(sh->c.remote, &req);
}

bool
share_announced(struct fx_share *sh, struct fx_node *n, double *started)
{
	if (!sh || !sh->v[n->index].announced)
		return false;
	*started = sh->v[n->index].started;
	return true;
}

/*
 * ---- Uploads ----
 */

/* An upload: the blob to cas/ unless it is there, then the record to ac/. */
struct upload {
	struct fx_share *sh;
	char *id;
	char *blob;
	char sha[FX_SHA256_HEX];
	uint64_t size;
	char ac[FX_SHA256_HEX];
	struct fx_buf record;
	uint64_t bytes;
	double seconds;
};

static void
upload_free(struct upload *u)
{
	unlink(u->blob);
	free(u->blob);
	free(u->id);
	buf_free(&u->record);
	free(u);
}

static void
upload_fault(struct upload *u, const struct fx_remote_res *res)
{
	struct fx_share *sh = u->sh;

	if (res->status != FX_REMOTE_CANCELLED) {
		sh->upload_failed = true;
		if (res->status == FX_REMOTE_DOWN) {
			cache_down(sh, res->msg);
		} else {
			report_clear(sh->c.report);
			fx_warn("%s: upload to the shared cache: %s", u->id, res->msg);
		}
	}
	upload_free(u);
}

static void
on_ac_put(void *arg, const struct fx_remote_res *res)
{
	struct upload *u = arg;

	if (res->status != FX_REMOTE_OK) {
		upload_fault(u, res);
		return;
	}
	transfer_note(u->sh, "uploaded", u->id, u->bytes, u->seconds);
	upload_free(u);
}

static void
put_record(struct upload *u)
{
	struct fx_remote_req req = {
		.op = FX_REMOTE_PUT, .area = "ac", .name = u->ac, .data = u->record.s,
		.len = u->record.len, .label = u->id, .done = on_ac_put, .arg = u,
	};
	remote_start(u->sh->c.remote, &req);
}

static void
on_cas_put(void *arg, const struct fx_remote_res *res)
{
	struct upload *u = arg;

	if (res->status != FX_REMOTE_OK) {
		upload_fault(u, res);
		return;
	}
	u->bytes = res->bytes;
	u->seconds = res->seconds;
	put_record(u);
}

static void
on_head(void *arg, const struct fx_remote_res *res)
{
	struct upload *u = arg;

	if (res->status == FX_REMOTE_OK) {	/* the same bytes are there */
		put_record(u);
		return;
	}
	if (res->status != FX_REMOTE_MISSING) {
		upload_fault(u, res);
		return;
	}
	struct fx_remote_req req = {
		.op = FX_REMOTE_PUT, .area = "cas", .name = u->sha, .path = u->blob,
		.label = u->id, .done = on_cas_put, .arg = u,
	};
	remote_start(u->sh->c.remote, &req);
}

/* The pack step ended (msg: how it failed, or NULL): upload the blob,
 * which the upload takes from the job. */
static void
packed(struct fx_share *sh, struct fx_share_job *sj, const char *msg)
{
	struct fx_node *n = sj->n;
	struct upload *u;
	char hex[FX_HASH_HEX];

	if (msg) {
		report_clear(sh->c.report);
		fx_warn("%s: could not pack it for the shared cache: %s", n->id, msg);
		sh->upload_failed = true;
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->sh = sh;
	u->id = xstrdup(n->id);
	u->blob = sj->blob;
	sj->blob = NULL;
	if (sha256_file(u->blob, u->sha, &u->size) < 0) {
		report_clear(sh->c.report);
		fx_warn("%s: could not read its blob %s: %s", u->id, u->blob, strerror(errno));
		sh->upload_failed = true;
		upload_free(u);
		return;
	}
	hash_hex(n->out.hash, hex);
	struct fx_remote_record rec = {
		.node = n->id, .output = n->out.value ? n->out.value : (char *)"",
		.output_hash = hex, .size = u->size,
	};
	memcpy(rec.blob, u->sha, sizeof rec.blob);
	remote_ac_name(n->id, n->key, u->ac);
	if (remote_record_format(&rec, &u->record) < 0) {
		fx_debug("%s: its output cannot be shared (a line break in it)", u->id);
		upload_free(u);
		return;
	}
	struct fx_remote_req req = {
		.op = FX_REMOTE_HEAD, .area = "cas", .name = u->sha, .label = u->id,
		.done = on_head, .arg = u,
	};
	remote_start(sh->c.remote, &req);
}

/*
 * ---- A job slot's work ----
 */

void
share_job_start(struct fx_share *sh, struct fx_share_job *sj, struct fx_node *n, int log_fd)
{
	struct node *v = sh ? &sh->v[n->index] : NULL;

	*sj = (struct fx_share_job){.n = n, .mode = v && v->blob ? UNPACK : RUN,
	    .log_fd = log_fd};
	if (sj->mode == UNPACK)
		dprintf(log_fd, "# %s: restoring it from the shared cache (blob %s)\n", n->id,
		    v->rec.blob);
}

void
share_job_clear(struct fx_share_job *sj)
{
	if (sj->blob)
		unlink(sj->blob);
	free(sj->blob);
	*sj = (struct fx_share_job){0};
}

/* Go on with another mode, from its first step. */
static enum fx_share_next
switch_mode(struct fx_share_job *sj, enum mode m)
{
	sj->mode = m;
	sj->step = 0;
	return FX_SHARE_AGAIN;
}

/* The unpacked output must be the one the record names. */
static bool
restored(struct fx_share *sh, struct fx_node *n, const struct fx_output *out)
{
	struct node *v = &sh->v[n->index];
	char hex[FX_HASH_HEX];

	hash_hex(out->hash, hex);
	if (!out->value || strcmp(out->value, v->rec.output) || strcmp(hex, v->rec.output_hash)) {
		report_clear(sh->c.report);
		fx_warn("%s: what the shared cache restored is not what its record names; running "
		    "it here", n->id);
		return false;
	}
	transfer_note(sh, "restored", n->id, v->bytes, v->seconds);
	return true;
}

/* The blob could not be unpacked: run the node instead, in the same slot
 * (with required: fail it). */
static enum fx_share_next
unpack_failed(struct fx_share *sh, struct fx_share_job *sj, struct fx_buf *msg)
{
	struct fx_node *n = sj->n;
	char *why = xstrdup(msg->len ? msg->s : "failed");

	drop_blob(&sh->v[n->index]);
	buf_reset(msg);
	if (sh->c.required) {
		buf_printf(msg, "restoring it from the shared cache: %s (--remote-required)", why);
		free(why);
		return FX_SHARE_FAIL;
	}
	report_clear(sh->c.report);
	fx_warn("%s: could not restore it from the shared cache (%s); running it here", n->id,
	    why);
	dprintf(sj->log_fd, "# %s: running it\n", n->id);
	free(why);
	return switch_mode(sj, RUN);
}

enum fx_share_next
share_failed(struct fx_share *sh, struct fx_share_job *sj, struct fx_buf *msg)
{
	if (sj->mode == UNPACK)
		return unpack_failed(sh, sj, msg);
	if (sj->mode == PACK) {
		packed(sh, sj, msg->len ? msg->s : "failed");
		return FX_SHARE_FREE;
	}
	return FX_SHARE_FAIL;
}

/* The node ran and is recorded: pack it for an upload? */
static enum fx_share_next
after_run(struct fx_share *sh, struct fx_share_job *sj)
{
	if (!sh || !sh->c.push || !shares(sh, sj->n) || sh->down || sh->cancelled)
		return FX_SHARE_FREE;
	sj->blob = blob_path(sh, sj->n, "pack");
	unlink(sj->blob);
	return switch_mode(sj, PACK);
}

/* The current mode's step has finished (FX_STEP_DONE). */
static enum fx_share_next
step_done(struct fx_share *sh, struct fx_share_job *sj, struct fx_output *out,
    enum fx_result *res)
{
	struct fx_node *n = sj->n;

	switch (sj->mode) {
	case UNPACK: {
		bool ok = restored(sh, n, out);
		drop_blob(&sh->v[n->index]);
		if (!ok) {
			free(out->value);
			*out = (struct fx_output){0};
			return switch_mode(sj, RUN);
		}
		*res = FX_CACHED;
		sj->mode = RESTORED;
		return FX_SHARE_RECORD;
	}
	case PACK:
		packed(sh, sj, NULL);
		return FX_SHARE_FREE;
	default:
		*res = FX_RAN;
		sj->mode = RAN;
		return FX_SHARE_RECORD;
	}
}

enum fx_share_next
share_next(struct fx_share *sh, struct fx_share_job *sj, void *ctx, int status,
    struct fx_cmd *cmd, struct fx_output *out, enum fx_result *res, struct fx_buf *msg)
{
	struct fx_node *n = sj->n;
	int step = sj->step++;
	enum fx_step st;

	switch (sj->mode) {
	case RAN:
		return after_run(sh, sj);
	case RESTORED:
		return FX_SHARE_FREE;
	case UNPACK: {
		struct node *v = &sh->v[n->index];
		st = n->kind->unpack(n, ctx, step, status, v->blob, v->rec.output, cmd, out, msg);
		break;
	}
	case PACK:
		st = n->kind->pack(n, ctx, step, status, sj->blob, cmd, msg);
		break;
	default:
		st = n->kind->step(n, ctx, step, status, cmd, out, msg);
		break;
	}
	if (st == FX_STEP_RUN)
		return FX_SHARE_SPAWN;
	if (st != FX_STEP_DONE)
		return share_failed(sh, sj, msg);
	return step_done(sh, sj, out, res);
}
