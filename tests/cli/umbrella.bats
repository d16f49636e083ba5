#!/usr/bin/env bats
# Images into any values (README, "Images into values"): a release that
# takes several services' images (an umbrella chart), a chart that takes
# one repository and one tag for all of them, as microservices-demo's does
# (tests/cli/fixtures/charts/shop, of its shape), rendered by the real
# helm; real podman builds two FROM scratch images.

load helpers

setup() {
	fx_setup
	# a workspace of its own: two services and the chart that releases both
	SHOP=$BATS_TEST_TMPDIR/shop
	mkdir -p "$SHOP/deploy" "$SHOP/frontend" "$SHOP/cartservice"
	cp -r "$TOP/tests/cli/fixtures/charts/shop" "$SHOP/deploy/chart"
	local s
	for s in frontend cartservice; do
		printf 'FROM scratch\nCOPY app.txt /\n' >"$SHOP/$s/Containerfile"
		echo "$s 1" >"$SHOP/$s/app.txt"
	done
	CAT=$SHOP/deploy/fusion.yaml
	STATE=$SHOP/deploy/.fusion
	cat >"$CAT" <<'CAT'
version: 1
workspace: {root: .., namespace: shop}
shared:
  shop:
    chart: chart
    images: [frontend, cartservice]
    image_values: {images.repository: "{registry}", images.tag: "{tag}"}
services:
  frontend: {}
  cartservice: {}
CAT
}

# The images the rendered manifest of release $1 names, sorted.
rendered_images() (
	set -o pipefail
	sed -n 's/^ *image: //p' "$STATE/artifacts/$1.yaml" | sort
)

# The image ID podman gives REF.
image_id() {
	podman image inspect --format '{{.Id}}' "$1"
}

@test "an umbrella chart of microservices-demo's shape: one release, one tag for all, exactly the built images" {
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:cartservice build:frontend chart:shop load:cartservice load:frontend release:shop" ]
	run rendered_images shop
	[ "$status" -eq 0 ]
	tag=$(sed -n 's|^ *image: localhost/frontend:||p' "$STATE/artifacts/shop.yaml")
	[[ "$tag" =~ ^fx-[0-9a-f]{16}$ ]]
	[ "$output" = "localhost/cartservice:$tag"$'\n'"localhost/frontend:$tag" ]
	# each names the image its service built (the build's own tag, its image ID)
	for s in frontend cartservice; do
		own=$(fx status --json | jq -r ".[] | select(.service==\"$s\") | .image")
		[[ "$own" == localhost/$s:fx-* ]]
		[ "$(image_id "localhost/$s:$tag")" = "$(image_id "$own")" ]
		# and is in the cluster under that name
		minikube -p fusion image ls | grep -qx "localhost/$s:$tag"
	done
	# the chart's own values, and its {{- trimming, as the real helm renders them
	grep -qx '            - containerPort: 8080' "$STATE/artifacts/shop.yaml"
	[ "$(grep -c '^kind: Deployment' "$STATE/artifacts/shop.yaml")" -eq 2 ]
	run fx up
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 ran"* ]]
	# `up frontend` is the release that runs it
	run fx graph frontend
	[ "$status" -eq 0 ]
	[[ "$output" == *"release:shop"* ]]

	# one service changes: one build; every image gets the new tag, the release runs
	echo "frontend 2" >"$SHOP/frontend/app.txt"
	up_json
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:frontend chart:shop load:cartservice load:frontend release:shop" ]
	new=$(sed -n 's|^ *image: localhost/frontend:||p' "$STATE/artifacts/shop.yaml")
	[ "$new" != "$tag" ]
	run rendered_images shop
	[ "$status" -eq 0 ]
	[ "$output" = "localhost/cartservice:$new"$'\n'"localhost/frontend:$new" ]
	helm get manifest shop -n shop | grep -q "image: localhost/cartservice:$new"
}

@test "image_values: a service's image into any values paths; per service in an umbrella; one value for several images is refused" {
	# a service of its own chart, its image into two values of its choice
	mkdir -p "$SHOP/deploy/one/templates"
	printf 'apiVersion: v2\nname: one\nversion: 0.1.0\n' >"$SHOP/deploy/one/Chart.yaml"
	printf 'app: {}\n' >"$SHOP/deploy/one/values.yaml"
	cat >"$SHOP/deploy/one/templates/pod.yaml" <<'TPL'
apiVersion: v1
kind: Pod
metadata:
  name: one
  annotations: {repo: {{ .Values.app.repo | quote }}, policy: {{ .Values.app.policy | quote }}}
spec:
  containers:
    - name: app
      image: {{ .Values.app.image }}
TPL
	cat >"$CAT" <<'CAT'
version: 1
workspace: {root: .., namespace: shop}
shared:
  shop:
    chart: chart
    images:
      cartservice: {images.repository: "{registry}", images.tag: "{tag}"}
    set: {frontend.create: "false"}
services:
  frontend:
    chart: one
    image_values: {app.image: "{ref}", app.repo: "{repository}", app.policy: "{pullPolicy}"}
  cartservice: {}
CAT
	up_json --until chart
	[ "$status" -eq 0 ]
	[ "$(results ran)" = "build:cartservice build:frontend chart:frontend chart:shop" ]
	# the build's own tag (status shows it), its repository, the pull policy of a loaded image
	ref=$(fx status --json | jq -r '.[] | select(.service=="frontend") | .image')
	[[ "$ref" == localhost/frontend:fx-* ]]
	[ "$(rendered_images frontend)" = "$ref" ]
	grep -q "repo: \"localhost/frontend\", policy: \"Never\"" "$STATE/artifacts/frontend.yaml"
	# one member: its own tag (no tag to share)
	[ "$(rendered_images shop)" = "$(fx status --json | jq -r '.[] | select(.service=="cartservice") | .image')" ]

	# two images, one value each would take; a member's own key of a release:
	# refused before anything runs
	cat >"$CAT" <<'CAT'
version: 1
workspace: {root: .., namespace: shop}
shared:
  shop:
    chart: chart
    images: [frontend, cartservice]
    image_values: {images.repository: "{repository}", images.tag: "{tag}"}
services:
  frontend: {ports: [8080]}
  cartservice: {}
CAT
	run fx graph
	[ "$status" -eq 2 ]
	[[ "$output" == *'"shop" takes the images of several services at "images.repository" ({repository}): one value cannot name each'* ]]
	[[ "$output" == *'"ports" of service "frontend" is not used: "shop" releases its image (give it there)'* ]]
}
