/*
 * badserver - an HTTP server that misbehaves, for the shared cache's tests
 * (tests/cli/remote.bats). nginx serves the cache when it works; this is
 * the server that does not:
 *
 *   badserver silent PORTFILE  accept every connection and never answer
 *   badserver cut PORTFILE     answer every request "200 OK" with a
 *                              Content-Length of 1000000, send 100 bytes
 *                              of it, and close the connection
 *   badserver free             print a port nothing listens on, and exit
 *
 * It listens on 127.0.0.1, on a port the kernel picks, which it writes to
 * PORTFILE (a temporary file renamed into place) once it listens. It runs
 * until it is killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN 256

static int
listen_any(int backlog, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    (backlog > 0 && listen(fd, backlog) < 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("badserver");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void
write_port(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = fopen(tmp, "w")) || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) < 0) {
		perror(path);
		exit(1);
	}
}

/* Answer a request with a body cut short. */
static void
cut(int fd)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n"
	    "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
	char body[100];
	ssize_t w;

	memset(body, 'x', sizeof body);
	w = write(fd, head, sizeof head - 1);
	if (w > 0)
		w = write(fd, body, sizeof body);
	(void)w;
	close(fd);
}

int
main(int argc, char **argv)
{
	struct pollfd p[MAXCONN + 1];
	int n = 1, port;
	char buf[65536];

	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "free") == 0) {
		int fd = listen_any(0, &port);
		close(fd);
		printf("%d\n", port);
		return 0;
	}
	if (argc != 3 || (strcmp(argv[1], "silent") && strcmp(argv[1], "cut"))) {
		fputs("usage: badserver silent|cut PORTFILE | badserver free\n", stderr);
		return 2;
	}
	int is_cut = strcmp(argv[1], "cut") == 0;
	p[0] = (struct pollfd){.fd = listen_any(64, &port), .events = POLLIN};
	write_port(argv[2], port);
	for (;;) {
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		if ((p[0].revents & POLLIN) && n <= MAXCONN) {
			int c = accept4(p[0].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				p[n++] = (struct pollfd){.fd = c, .events = POLLIN};
		}
		for (int i = 1; i < n; i++) {
			if (!p[i].revents)
				continue;
			ssize_t k = read(p[i].fd, buf, sizeof buf);
			if (k > 0 && !is_cut)
				continue;	/* silent: take the request, say nothing */
			if (k > 0)
				cut(p[i].fd);
			else
				close(p[i].fd);
			p[i--] = p[--n];
		}
	}
}
