# pods.awk - the fake cluster's pods and Services, derived from the
# manifests the fake helm stored (releases/NS/NAME/manifest). Run by
# fakelib.bash's fake_pods; not a command.
#
#   awk -v ns=NS -f pods.awk releases/NS/*/manifest releases/NS/*/retiring
#
# prints one line per pod and per Service, fields separated by tabs:
#
#   pod  NAME  UID  LABELS  CONTAINERS  PORTS  OWNERKIND  OWNER  POLICIES  RELEASE
#        RETIRING  HOOK  RESTARTPOLICY  BACKOFFLIMIT
#   svc  NAME  SELECTOR  SVCPORTS
#
# LABELS and SELECTOR are k=v,k=v; CONTAINERS are name=image;name=image;
# PORTS name=containerPort,... (of all containers); SVCPORTS port=targetPort,...;
# OWNERKIND and OWNER the pod's controller (ReplicaSet NAME-HASH, StatefulSet,
# DaemonSet, Job); POLICIES each container's imagePullPolicy (as written, in
# the order of CONTAINERS; "" when the manifest has none) joined by ';';
# RELEASE the release whose manifest runs the pod; RETIRING 1 for a pod of
# the revision a rolling update replaces; HOOK a Job's helm.sh/hook
# annotation (pre-install,pre-upgrade ...); RESTARTPOLICY and BACKOFFLIMIT a
# Job's (Never and 6 unless the manifest says). A field that would be empty
# is "-": tabs are white space to bash's read, which would run two together.
#
# A Job runs one pod, JOB-XXXXX, with the labels the Job controller adds
# (job-name, batch.kubernetes.io/job-name, controller-uid); helm's hooks are
# Jobs with a helm.sh/hook annotation (helm template prints them), run by
# the fake as the release's other pods are.
#
# As in a cluster: each Deployment or ReplicaSet runs spec.replicas pods
# (default 1) named NAME-HASH-XXXXX, where HASH stands for the
# pod-template-hash: a new template (a new image tag, say) means new pods
# with new names, the old ones gone. A StatefulSet's pods are NAME-0,
# NAME-1, ... and a DaemonSet runs one pod (one node). A pod's UID changes
# with its template, so a replaced StatefulSet pod is a new pod under the
# same name. The YAML read is what the fake helm renders from the charts
# of fusion's tests: block mappings and sequences, scalars, comments.
#
# A release's `retiring` manifest (FUSION_FAKE_ROLLING, README.md) is the
# revision a rolling update is replacing: its pods still run, beside the
# new ones, unless a new pod has taken the name (a StatefulSet replaces
# its pods one by one, never two under one name); its Services are gone.
# The retiring files come last, so the new pods are known by then.

BEGIN {
	alphabet = "bcdfghjklmnpqrstvwxz2456789"	# Kubernetes' SafeEncodeString
	for (i = 0; i < 256; i++)
		ord[sprintf("%c", i)] = i
	reset()
}

function reset() {
	kind = name = replicas = hook = restart = backoff = ""
	text = ""
	delete path_key; delete path_ind; depth = 0
	nlabels = nsel = ncont = nport = nsvcport = 0
	delete labels; delete sel; delete cont_name; delete cont_image; delete cont_policy
	delete port_name; delete port_num; delete svc_port; delete svc_target
}

function dash(s) { return s == "" ? "-" : s }

function hash(s, seed,    h, i) {	# djb2, modulo 2^32
	h = seed
	for (i = 1; i <= length(s); i++)
		h = (h * 33 + ord[substr(s, i, 1)]) % 4294967296
	return h
}

function encode(s, n,    out, i) {	# n characters of Kubernetes' alphabet
	out = ""
	for (i = 0; i < n; i++)
		out = out substr(alphabet, hash(s, 5381 + 131 * i) % 27 + 1, 1)
	return out
}

function unquote(v) {
	sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
	if (v ~ /^".*"$/ || v ~ /^'.*'$/)
		v = substr(v, 2, length(v) - 2)
	return v
}

function join(a, n, sep,    s, i) {
	s = ""
	for (i = 1; i <= n; i++)
		s = s (i > 1 ? sep : "") a[i]
	return s
}

function flush(    h, i, lab, conts, ports, pod, uid, r, svcports, old, pols, rel, n, owner, okind, juid, parts) {
	old = docfile ~ /\/retiring$/
	n = split(docfile, parts, "/")
	rel = parts[n - 1]
	if (kind == "Service" && name != "" && !old) {
		svcports = ""
		for (i = 1; i <= nsvcport; i++)
			svcports = svcports (i > 1 ? "," : "") svc_port[i] "=" (svc_target[i] != "" ? svc_target[i] : svc_port[i])
		printf "svc\t%s\t%s\t%s\n", name, join(sel, nsel, ","), svcports
	}
	if ((kind == "Deployment" || kind == "ReplicaSet" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "Job") && name != "") {
		h = encode(text, 10)
		if (kind == "Job") {
			juid = sprintf("%08x-%04x-4%03x-a%03x-%04x%08x", hash(text name, 23), hash(text name, 29) % 65536,
			    hash(text name, 31) % 4096, hash(text name, 37) % 4096, hash(text name, 41) % 65536,
			    hash(text name, 43))
			labels[++nlabels] = "batch.kubernetes.io/controller-uid=" juid
			labels[++nlabels] = "batch.kubernetes.io/job-name=" name
			labels[++nlabels] = "controller-uid=" juid
			labels[++nlabels] = "job-name=" name
		}
		lab = join(labels, nlabels, ",")
		conts = pols = ""
		for (i = 1; i <= ncont; i++) {
			conts = conts (i > 1 ? ";" : "") cont_name[i] "=" cont_image[i]
			pols = pols (i > 1 ? ";" : "") cont_policy[i]
		}
		ports = ""
		for (i = 1; i <= nport; i++)
			ports = ports (i > 1 ? "," : "") port_name[i] "=" port_num[i]
		r = replicas == "" ? 1 : replicas + 0
		if (kind == "DaemonSet" || kind == "Job")
			r = 1
		okind = kind == "Deployment" ? "ReplicaSet" : kind
		owner = kind == "Deployment" ? name "-" h : name
		for (i = 0; i < r; i++) {
			if (kind == "StatefulSet")
				pod = name "-" i
			else if (kind == "DaemonSet" || kind == "Job")
				pod = name "-" encode(ns name i text, 5)
			else
				pod = name "-" h "-" encode(ns name i text, 5)
			uid = sprintf("%08x-%04x-4%03x-a%03x-%04x%08x", hash(text pod, 3), hash(text pod, 7) % 65536,
			    hash(text pod, 11) % 4096, hash(text pod, 13) % 4096, hash(text pod, 17) % 65536,
			    hash(text pod, 19))
			if (old && (pod in running))
				continue
			running[pod] = 1
			printf "pod\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", pod, uid, dash(lab), dash(conts),
			    dash(ports), okind, owner, dash(pols), rel, old, dash(hook),
			    kind == "Job" ? (restart == "" ? "Never" : restart) : "-",
			    kind == "Job" ? (backoff == "" ? 6 : backoff) : "-"
		}
	}
	reset()
}

FNR == 1 { flush() }
/^---/ { flush(); next }
/^[ \t]*#/ || /^[ \t]*$/ { next }
{
	if (text == "")
		docfile = FILENAME
	text = text $0 "\n"
	line = $0
	ind = match(line, /[^ ]/) - 1
	item = 0
	if (substr(line, ind + 1, 2) == "- ") {	# a sequence item: its key is 2 deeper
		item = 1
		line = substr(line, 1, ind) "  " substr(line, ind + 3)
		ind += 2
	}
	while (depth > 0 && path_ind[depth] >= ind)
		depth--
	key = ""; val = ""
	rest = substr(line, ind + 1)
	if (match(rest, /^("[^"]*"|'[^']*'|[A-Za-z0-9_.\/-]+):( |$)/)) {
		key = substr(rest, 1, RLENGTH); sub(/:[ ]?$/, "", key)
		key = unquote(key)
		val = unquote(substr(rest, RLENGTH + 1))
		sub(/[ \t]+#.*$/, "", val)
	}
	parent = join(path_key, depth, ".")
	if (item && parent ~ /(^|\.)containers$/ && parent !~ /ports/)
		ncont++
	if (item && parent ~ /containers\.ports$/)
		nport++
	if (item && parent == "spec.ports")
		nsvcport++
	if (key == "")
		next
	full = parent == "" ? key : parent "." key
	if (full == "kind") kind = val
	else if (full == "metadata.name") name = val
	else if (full == "spec.replicas") replicas = val
	else if (parent == "spec.template.metadata.labels") labels[++nlabels] = key "=" val
	else if (parent == "spec.selector" && kind == "Service") sel[++nsel] = key "=" val
	else if (parent == "spec.template.spec.containers" && key == "name") cont_name[ncont] = val
	else if (parent == "spec.template.spec.containers" && key == "image") cont_image[ncont] = val
	else if (parent == "spec.template.spec.containers" && key == "imagePullPolicy") cont_policy[ncont] = val
	else if (full == "metadata.annotations.helm.sh/hook") hook = val
	else if (full == "spec.template.spec.restartPolicy") restart = val
	else if (full == "spec.backoffLimit") backoff = val
	else if (parent == "spec.template.spec.containers.ports" && key == "name") port_name[nport] = val
	else if (parent == "spec.template.spec.containers.ports" && key == "containerPort") port_num[nport] = val
	else if (parent == "spec.ports" && key == "port") svc_port[nsvcport] = val
	else if (parent == "spec.ports" && key == "targetPort") svc_target[nsvcport] = val
	if (val == "") {	# a nested mapping or sequence follows
		path_key[++depth] = key
		path_ind[depth] = ind
	}
}
END { flush() }
