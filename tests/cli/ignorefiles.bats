#!/usr/bin/env bats
# Which ignore file the builder reads (issue 7 item 3, issue 10 item 2): for
# every combination of the context's .containerignore and .dockerignore, the
# per-containerfile Containerfile.containerignore and Containerfile.dockerignore
# and the catalog's build.ignore, fusion builds with the real podman and with
# the docker fake (which picks the file as docker does), and the image holds
# exactly the files the builder's precedence leaves in, and exactly the files
# fusion hashed:
#
#   podman: Containerfile.dockerignore, else Containerfile.containerignore,
#           else .containerignore, else .dockerignore (buildah's
#           ContainerIgnoreFile);
#   docker: Containerfile.dockerignore, else .dockerignore (BuildKit); never
#           .containerignore;
#
# and build.ignore on top of whichever it is.
#
# make test runs ten combinations that cover each rule of precedence; the
# other 54 are tagged slow (make check-slow).

load helpers
load probe

setup() {
	fx_setup
}

# Each ignore file excludes a file of its own name: .containerignore c.txt,
# .dockerignore d.txt, Containerfile.containerignore fc.txt,
# Containerfile.dockerignore fd.txt, build.ignore b.txt.
declare -gA EXCLUDES=([ci]=c.txt [di]=d.txt [fci]=fc.txt [fdi]=fd.txt [bi]=b.txt)

# combo BUILDER SOURCE...: SOURCEs among ci di fci fdi bi
combo() {
	local builder=$1 s first= order f want sent hashed
	shift
	local has=" $* "
	if [[ $has == *" bi "* ]]; then probe_setup "$builder" b.txt; else probe_setup "$builder"; fi
	for f in b c d fc fd keep; do echo "$f" >"$PCTX/$f.txt"; done
	[[ $has == *" ci "* ]] && echo c.txt >"$PCTX/.containerignore"
	[[ $has == *" di "* ]] && echo d.txt >"$PCTX/.dockerignore"
	[[ $has == *" fci "* ]] && echo fc.txt >"$PCTX/Containerfile.containerignore"
	[[ $has == *" fdi "* ]] && echo fd.txt >"$PCTX/Containerfile.dockerignore"
	if [ "$builder" = podman ]; then order="fdi fci ci di"; else order="fdi di"; fi
	for s in $order; do
		[[ $has == *" $s "* ]] && { first=$s; break; }
	done
	want=$(for f in b c d fc fd keep; do
		[[ -n $first && ${EXCLUDES[$first]} == "$f.txt" ]] && continue
		[[ $has == *" bi "* && $f == b ]] && continue
		echo "$f.txt"
	done)
	run pfx up --until build
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	sent=$(image_entries "$(probe_image)")
	hashed=$(probe_hashed)
	# the builder kept what its precedence says
	[ "$(echo "$sent" | grep '\.txt$')" = "$want" ] || { echo "sent:"; echo "$sent"; echo "want:"; echo "$want"; return 1; }
	# and fusion hashed exactly what the builder was sent
	[ "$hashed" = "$sent" ] || { diff <(echo "$hashed") <(echo "$sent"); return 1; }
}

@test "podman: no ignore file" {
	combo podman
}

@test "podman: .containerignore" {
	combo podman ci
}

@test "podman: .dockerignore" {
	combo podman di
}

@test "podman: .containerignore + .dockerignore" {
	combo podman ci di
}

# bats test_tags=slow
@test "podman: Containerfile.containerignore" {
	combo podman fci
}

@test "podman: .containerignore + Containerfile.containerignore" {
	combo podman ci fci
}

# bats test_tags=slow
@test "podman: .dockerignore + Containerfile.containerignore" {
	combo podman di fci
}

# bats test_tags=slow
@test "podman: .containerignore + .dockerignore + Containerfile.containerignore" {
	combo podman ci di fci
}

# bats test_tags=slow
@test "podman: Containerfile.dockerignore" {
	combo podman fdi
}

# bats test_tags=slow
@test "podman: .containerignore + Containerfile.dockerignore" {
	combo podman ci fdi
}

# bats test_tags=slow
@test "podman: .dockerignore + Containerfile.dockerignore" {
	combo podman di fdi
}

# bats test_tags=slow
@test "podman: .containerignore + .dockerignore + Containerfile.dockerignore" {
	combo podman ci di fdi
}

# bats test_tags=slow
@test "podman: Containerfile.containerignore + Containerfile.dockerignore" {
	combo podman fci fdi
}

# bats test_tags=slow
@test "podman: .containerignore + Containerfile.containerignore + Containerfile.dockerignore" {
	combo podman ci fci fdi
}

# bats test_tags=slow
@test "podman: .dockerignore + Containerfile.containerignore + Containerfile.dockerignore" {
	combo podman di fci fdi
}

# bats test_tags=slow
@test "podman: .containerignore + .dockerignore + Containerfile.containerignore + Containerfile.dockerignore" {
	combo podman ci di fci fdi
}

@test "podman: build.ignore" {
	combo podman bi
}

# bats test_tags=slow
@test "podman: .containerignore + build.ignore" {
	combo podman ci bi
}

# bats test_tags=slow
@test "podman: .dockerignore + build.ignore" {
	combo podman di bi
}

# bats test_tags=slow
@test "podman: .containerignore + .dockerignore + build.ignore" {
	combo podman ci di bi
}

# bats test_tags=slow
@test "podman: Containerfile.containerignore + build.ignore" {
	combo podman fci bi
}

# bats test_tags=slow
@test "podman: .containerignore + Containerfile.containerignore + build.ignore" {
	combo podman ci fci bi
}

# bats test_tags=slow
@test "podman: .dockerignore + Containerfile.containerignore + build.ignore" {
	combo podman di fci bi
}

# bats test_tags=slow
@test "podman: .containerignore + .dockerignore + Containerfile.containerignore + build.ignore" {
	combo podman ci di fci bi
}

# bats test_tags=slow
@test "podman: Containerfile.dockerignore + build.ignore" {
	combo podman fdi bi
}

# bats test_tags=slow
@test "podman: .containerignore + Containerfile.dockerignore + build.ignore" {
	combo podman ci fdi bi
}

# bats test_tags=slow
@test "podman: .dockerignore + Containerfile.dockerignore + build.ignore" {
	combo podman di fdi bi
}

# bats test_tags=slow
@test "podman: .containerignore + .dockerignore + Containerfile.dockerignore + build.ignore" {
	combo podman ci di fdi bi
}

# bats test_tags=slow
@test "podman: Containerfile.containerignore + Containerfile.dockerignore + build.ignore" {
	combo podman fci fdi bi
}

# bats test_tags=slow
@test "podman: .containerignore + Containerfile.containerignore + Containerfile.dockerignore + build.ignore" {
	combo podman ci fci fdi bi
}

# bats test_tags=slow
@test "podman: .dockerignore + Containerfile.containerignore + Containerfile.dockerignore + build.ignore" {
	combo podman di fci fdi bi
}

@test "podman: .containerignore + .dockerignore + Containerfile.containerignore + Containerfile.dockerignore + build.ignore" {
	combo podman ci di fci fdi bi
}

# bats test_tags=slow
@test "docker: no ignore file" {
	combo docker
}

# bats test_tags=slow
@test "docker: .containerignore" {
	combo docker ci
}

# bats test_tags=slow
@test "docker: .dockerignore" {
	combo docker di
}

@test "docker: .containerignore + .dockerignore" {
	combo docker ci di
}

# bats test_tags=slow
@test "docker: Containerfile.containerignore" {
	combo docker fci
}

# bats test_tags=slow
@test "docker: .containerignore + Containerfile.containerignore" {
	combo docker ci fci
}

# bats test_tags=slow
@test "docker: .dockerignore + Containerfile.containerignore" {
	combo docker di fci
}

# bats test_tags=slow
@test "docker: .containerignore + .dockerignore + Containerfile.containerignore" {
	combo docker ci di fci
}

# bats test_tags=slow
@test "docker: Containerfile.dockerignore" {
	combo docker fdi
}

# bats test_tags=slow
@test "docker: .containerignore + Containerfile.dockerignore" {
	combo docker ci fdi
}

@test "docker: .dockerignore + Containerfile.dockerignore" {
	combo docker di fdi
}

# bats test_tags=slow
@test "docker: .containerignore + .dockerignore + Containerfile.dockerignore" {
	combo docker ci di fdi
}

# bats test_tags=slow
@test "docker: Containerfile.containerignore + Containerfile.dockerignore" {
	combo docker fci fdi
}

# bats test_tags=slow
@test "docker: .containerignore + Containerfile.containerignore + Containerfile.dockerignore" {
	combo docker ci fci fdi
}

# bats test_tags=slow
@test "docker: .dockerignore + Containerfile.containerignore + Containerfile.dockerignore" {
	combo docker di fci fdi
}

# bats test_tags=slow
@test "docker: .containerignore + .dockerignore + Containerfile.containerignore + Containerfile.dockerignore" {
	combo docker ci di fci fdi
}

# bats test_tags=slow
@test "docker: build.ignore" {
	combo docker bi
}

# bats test_tags=slow
@test "docker: .containerignore + build.ignore" {
	combo docker ci bi
}

# bats test_tags=slow
@test "docker: .dockerignore + build.ignore" {
	combo docker di bi
}

# bats test_tags=slow
@test "docker: .containerignore + .dockerignore + build.ignore" {
	combo docker ci di bi
}

# bats test_tags=slow
@test "docker: Containerfile.containerignore + build.ignore" {
	combo docker fci bi
}

# bats test_tags=slow
@test "docker: .containerignore + Containerfile.containerignore + build.ignore" {
	combo docker ci fci bi
}

# bats test_tags=slow
@test "docker: .dockerignore + Containerfile.containerignore + build.ignore" {
	combo docker di fci bi
}

# bats test_tags=slow
@test "docker: .containerignore + .dockerignore + Containerfile.containerignore + build.ignore" {
	combo docker ci di fci bi
}

# bats test_tags=slow
@test "docker: Containerfile.dockerignore + build.ignore" {
	combo docker fdi bi
}

# bats test_tags=slow
@test "docker: .containerignore + Containerfile.dockerignore + build.ignore" {
	combo docker ci fdi bi
}

# bats test_tags=slow
@test "docker: .dockerignore + Containerfile.dockerignore + build.ignore" {
	combo docker di fdi bi
}

# bats test_tags=slow
@test "docker: .containerignore + .dockerignore + Containerfile.dockerignore + build.ignore" {
	combo docker ci di fdi bi
}

# bats test_tags=slow
@test "docker: Containerfile.containerignore + Containerfile.dockerignore + build.ignore" {
	combo docker fci fdi bi
}

# bats test_tags=slow
@test "docker: .containerignore + Containerfile.containerignore + Containerfile.dockerignore + build.ignore" {
	combo docker ci fci fdi bi
}

# bats test_tags=slow
@test "docker: .dockerignore + Containerfile.containerignore + Containerfile.dockerignore + build.ignore" {
	combo docker di fci fdi bi
}

@test "docker: .containerignore + .dockerignore + Containerfile.containerignore + Containerfile.dockerignore + build.ignore" {
	combo docker ci di fci fdi bi
}
