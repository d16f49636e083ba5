/*
 * imagearchive.h - what an image archive would name, read before it is
 * loaded (rules/imagearchive.c).
 *
 * `podman load` and `docker load` apply every name an archive carries: an
 * OCI archive's index.json annotations (org.opencontainers.image.ref.name,
 * io.containerd.image.name), a docker archive's manifest.json RepoTags. An
 * archive from a shared cache may come from anyone who can write there, so
 * before it is loaded every name in it must be the node's own reference:
 * otherwise loading it would point another of the user's names (their
 * ruby:3.3) at the archive's image.
 *
 * The check is strict where the loaders are lenient, so that what it reads
 * is what they read: a plain tar (not compressed: the loaders would
 * decompress it unseen), regular files and directories only (a link could
 * make index.json another member; a docker layer's DIR/layer.tar is the
 * one link allowed), no extended headers (they rename members), no ".."
 * in a name, no legacy repositories file without a manifest.json (docker
 * load would read its names), at most one index.json and one
 * manifest.json however their names are spelt ("./index.json",
 * "/index.json"), each at most 1 MiB of ASCII JSON without escapes (so
 * that a key cannot hide behind \u escapes or Unicode case folding).
 */
#ifndef FUSION_IMAGEARCHIVE_H
#define FUSION_IMAGEARCHIVE_H

#include "fusion/util.h"

/* 0 if every name the archive at `path` carries is `ref` (or, in the OCI
 * ref.name annotation, its tag alone, as docker writes it; no name at all
 * is fine); -1 with the reason in *msg. */
int image_archive_check(const char *path, const char *ref, struct fx_buf *msg);

/* The same on the two JSON files' texts (NULL: not in the archive). */
int image_archive_check_json(const char *index, const char *manifest, const char *ref,
    struct fx_buf *msg);

#endif
