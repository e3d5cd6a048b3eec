/* netbench: one TCP stream between two guests, for scripts/bench-net.
 *   netbench server PORT [COUNT]   accept COUNT connections (default 1) one after the other,
 *                                  read each to EOF, print "NET role=server bytes=.. seconds=.."
 *                                  (accept -> EOF), close it. One listening socket for all: a
 *                                  client that connects again at once is queued, not refused.
 *   netbench client HOST PORT MIB  connect, send MIB MiB of zeros, half-close, wait for the
 *                                  server's close, print "NET role=client bytes=.. seconds=.."
 * The server prints "NET listening" once it accepts connections, so the driver can start the
 * client only then. 128 KiB reads and writes, as iperf does, rather than busybox nc's 8 KiB
 * through a pipe from dd: the guest's own overhead stays small next to the device's.
 * Built static by bench-net and copied into the guest's root filesystem. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128 << 10)

static char buf[CHUNK];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what) {
    printf("NET error: ");
    fflush(stdout);
    perror(what);
    exit(1);
}

static struct sockaddr_in address(const char *host, const char *port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    if (host && inet_pton(AF_INET, host, &a.sin_addr) != 1) fail("address");
    return a;
}

static int server(const char *port, int count) {
    struct sockaddr_in a = address(NULL, port);
    int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) fail("socket");
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) fail("listen");
    printf("NET listening\n");
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        int s = accept(ls, NULL, NULL);
        if (s < 0) fail("accept");
        double t0 = now();
        unsigned long long total = 0;
        ssize_t n;
        while ((n = read(s, buf, CHUNK)) > 0) total += n;
        if (n < 0) fail("read");
        double t = now() - t0;
        printf("NET role=server bytes=%llu seconds=%.3f\n", total, t);
        fflush(stdout);
        close(s);
    }
    return 0;
}

static int client(const char *host, const char *port, long mib) {
    struct sockaddr_in a = address(host, port);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) fail("socket");
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) fail("connect");
    double t0 = now();
    unsigned long long total = 0, want = (unsigned long long)mib << 20;
    while (total < want) {
        ssize_t n = write(s, buf, CHUNK);
        if (n <= 0) fail("write");
        total += n;
    }
    shutdown(s, SHUT_WR);
    /* The server closes only after reading everything: its EOF ends the timing. */
    while (read(s, buf, CHUNK) > 0) {
    }
    double t = now() - t0;
    printf("NET role=client bytes=%llu seconds=%.3f\n", total, t);
    fflush(stdout);
    close(s);
    return 0;
}

int main(int argc, char **argv) {
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "server") == 0)
        return server(argv[2], argc == 4 ? atoi(argv[3]) : 1);
    if (argc == 5 && strcmp(argv[1], "client") == 0) return client(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: netbench server PORT [COUNT] | netbench client HOST PORT MIB\n");
    return 2;
}
