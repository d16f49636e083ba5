# nginx.bash - a real nginx for the shared cache's tests (`load nginx`).
#
# nginx_start starts Debian's nginx on 127.0.0.1, on a free port, with a
# prefix, temporary directories and logs of its own under $NGINX_DIR, as
# the README tells users to run it (WebDAV PUT). It serves:
#
#   /cache/    the shared cache: GET, HEAD, PUT (files under $NGINX_DIR/root)
#   /broken/   500 Internal Server Error for every request
#   /private/  the cache, for requests with "X-Cache-Token: $NGINX_TOKEN"; 401 otherwise
#   /basic/    the cache, behind basic authentication (user fusion, password $NGINX_PASSWORD)
#   /slow/     the cache, sent at 1 MB/s
#   /trickle/  the cache, sent at 512 bytes/s
#   /here/     a redirect (307) to the same path under /cache/: the same server
#   /away/     a redirect (307) to the same path under /private/ at
#              localhost:$NGINX_PORT: another origin
#
# and, when NGINX_TLS=1, the same over https on $NGINX_TLS_PORT with a
# self-signed certificate ($NGINX_DIR/cert.pem). nginx_stop stops it.
# Works as root (workers run as root, so they can read the test's
# directories) and as any other user.

# Exported by nginx_start (setup_file), so that every test sees the same.
: "${NGINX_TOKEN:=tok-$RANDOM$RANDOM}" "${NGINX_PASSWORD:=pw-$RANDOM$RANDOM}"

_nginx_conf() {
	local user="" tls=""
	[ "$(id -u)" = 0 ] && user="user root root;"
	if [ "${NGINX_TLS:-}" = 1 ]; then
		tls="server {
    listen 127.0.0.1:$NGINX_TLS_PORT ssl;
    ssl_certificate $NGINX_DIR/cert.pem;
    ssl_certificate_key $NGINX_DIR/key.pem;
    location /cache/ { root $NGINX_DIR/root; dav_methods PUT; create_full_put_path on; client_max_body_size 0; }
  }"
	fi
	cat <<CONF
daemon on;
worker_processes 1;
$user
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log;
events { worker_connections 256; }
http {
  access_log $NGINX_DIR/logs/access.log;
  client_body_temp_path $NGINX_DIR/tmp/body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $NGINX_DIR/root;
    client_max_body_size 0;
    location /cache/ { dav_methods PUT; create_full_put_path on; dav_access user:rw group:r all:r; }
    location /broken/ { return 500; }
    location /private/ {
      if (\$http_x_cache_token != "$NGINX_TOKEN") { return 401; }
      dav_methods PUT; create_full_put_path on;
    }
    location /basic/ {
      auth_basic "fusion cache";
      auth_basic_user_file $NGINX_DIR/htpasswd;
      dav_methods PUT; create_full_put_path on;
    }
    location /slow/ { alias $NGINX_DIR/root/cache/; limit_rate 1m; }
    location /trickle/ { alias $NGINX_DIR/root/cache/; limit_rate 512; }
    location ~ ^/here/(.*)\$ { return 307 http://127.0.0.1:$NGINX_PORT/cache/\$1; }
    location ~ ^/away/(.*)\$ { return 307 http://localhost:$NGINX_PORT/private/\$1; }
  }
  $tls
}
CONF
}

nginx_start() {
	NGINX_DIR=$BATS_FILE_TMPDIR/nginx
	mkdir -p "$NGINX_DIR/root/cache" "$NGINX_DIR/tmp" "$NGINX_DIR/logs"
	printf 'fusion:%s\n' "$(openssl passwd -5 "$NGINX_PASSWORD")" >"$NGINX_DIR/htpasswd"
	if [ "${NGINX_TLS:-}" = 1 ] && [ ! -f "$NGINX_DIR/cert.pem" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
			-addext subjectAltName=IP:127.0.0.1 \
			-keyout "$NGINX_DIR/key.pem" -out "$NGINX_DIR/cert.pem" 2>/dev/null
	fi
	local try
	for try in $(seq 20); do
		NGINX_PORT=$("$FX_TOOLS/badserver" free)
		NGINX_TLS_PORT=$("$FX_TOOLS/badserver" free)
		_nginx_conf >"$NGINX_DIR/nginx.conf"
		# -e: the error log before the configuration is read (not /var/log)
		if nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/logs/error.log" \
			2>>"$NGINX_DIR/logs/start.log"; then
			for _ in $(seq 100); do
				[ -s "$NGINX_DIR/nginx.pid" ] && curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && break
				sleep 0.1
			done
			NGINX_URL=http://127.0.0.1:$NGINX_PORT
			export NGINX_URL NGINX_PORT NGINX_TLS_PORT NGINX_DIR NGINX_TOKEN NGINX_PASSWORD
			return 0
		fi
		# another test took the port between `free` and nginx: try another
	done
	cat "$NGINX_DIR/logs/start.log" >&2
	return 1
}

nginx_stop() {
	[ -s "${NGINX_DIR:-/nonexistent}/nginx.pid" ] || return 0
	local pid
	pid=$(cat "$NGINX_DIR/nginx.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$NGINX_DIR/nginx.pid"
}

# Start badserver MODE in the background; its URL in BAD_URL, its pid in BAD_PID.
badserver_start() {
	rm -f "$BATS_TEST_TMPDIR/badport"
	"$FX_TOOLS/badserver" "$1" "$BATS_TEST_TMPDIR/badport" 3>&- &
	BAD_PID=$!
	for _ in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/badport" ] && break
		sleep 0.1
	done
	BAD_URL=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/badport")
}

badserver_stop() {
	[ -n "${BAD_PID:-}" ] || return 0
	kill "$BAD_PID" 2>/dev/null || true
	wait "$BAD_PID" 2>/dev/null || true
	BAD_PID=
}
