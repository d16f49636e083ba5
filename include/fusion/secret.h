/*
 * secret.h - what keeps a secret (a value read from the environment at run
 * time) out of everything fusion writes or shows.
 *
 * A secret enters a node's key only as a keyed hash: HMAC-SHA256 under a
 * salt of 32 random bytes made once per state directory (STATEDIR/salt,
 * mode 0600, beside the database but not in it). A changed secret changes
 * the key; the database alone gives no way to test a guess, and two state
 * directories never share a key for the same secret (so a node whose key
 * holds one is never shared between machines either).
 *
 * Tools see a secret only in a file (a 0600 helm values file the executor
 * removes once the command is done, fx_cmd.remove) and never on a command
 * line, where /proc would show it to every user; whatever such a tool
 * prints goes to a file in memory and reaches the node's log masked
 * (fx_cmd.redact, secret_mask_buf).
 */
#ifndef FUSION_SECRET_H
#define FUSION_SECRET_H

#include <stddef.h>

#include "fusion/util.h"

#define SECRET_MASK "***"

/* The keyed hash of data under STATEDIR/salt (made if missing), as 64
 * lowercase hex digits in hex[65]. Returns 0, or -1 after writing the
 * reason to *msg. */
int secret_mac(const char *statedir, const void *data, size_t len, char hex[65],
    struct fx_buf *msg);

/* Replace each occurrence of every non-empty string of `secrets` in b by
 * SECRET_MASK (what a command that knew them printed, before it reaches
 * the node's log). */
void secret_mask_buf(struct fx_buf *b, const struct fx_strv *secrets);

#endif
