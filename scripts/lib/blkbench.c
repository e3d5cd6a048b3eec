/* blkbench DEVICE [SECONDS]: block device throughput as a guest sees it, for
 * scripts/bench-vmm. O_DIRECT, so the guest's page cache is out of the way:
 *   sequential write and read, 1 MiB requests over the first 128 MiB;
 *   random 4 KiB reads and writes (one at a time) for SECONDS each (default 3).
 * Prints one line: "BLK seq_write_MiBps=.. seq_read_MiBps=.. rand_read_iops=.. rand_write_iops=..".
 * Built static by bench-vmm and copied into the guest's root filesystem. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

/* Sequential pass over `span` bytes; returns MiB/s. */
static double sequential(int fd, char *buf, size_t span, int writing) {
    const size_t chunk = 1 << 20;
    double t0 = now();
    for (size_t off = 0; off < span; off += chunk) {
        ssize_t n = writing ? pwrite(fd, buf, chunk, off) : pread(fd, buf, chunk, off);
        if (n != (ssize_t)chunk) fail(writing ? "sequential write" : "sequential read");
    }
    if (writing && fdatasync(fd) != 0) fail("fdatasync");
    return span / (double)(1 << 20) / (now() - t0);
}

/* Random 4 KiB requests within `span` for `seconds`; returns IOPS. */
static double random_io(int fd, char *buf, size_t span, int writing, double seconds) {
    uint64_t x = 88172645463325252ull, ops = 0;
    size_t blocks = span / 4096;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 64; i++, ops++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            off_t off = (off_t)(x % blocks) * 4096;
            ssize_t n = writing ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off);
            if (n != 4096) fail(writing ? "random write" : "random read");
        }
        t = now() - t0;
    } while (t < seconds);
    return ops / t;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: blkbench DEVICE [SECONDS]\n");
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 3;
    int fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0) fail(argv[1]);
    uint64_t size = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) fail("fstat");
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, &size) != 0) fail("BLKGETSIZE64");
    } else {
        size = st.st_size;
    }
    size_t span = size < (128u << 20) ? size & ~((size_t)(1 << 20) - 1) : 128u << 20;
    if (span == 0) { fprintf(stderr, "%s is smaller than 1 MiB\n", argv[1]); return 1; }
    char *buf;
    if (posix_memalign((void **)&buf, 4096, 1 << 20) != 0) fail("posix_memalign");
    memset(buf, 0x5a, 1 << 20);
    double sw = sequential(fd, buf, span, 1);
    double sr = sequential(fd, buf, span, 0);
    double rr = random_io(fd, buf, span, 0, seconds);
    double rw = random_io(fd, buf, span, 1, seconds);
    printf("BLK seq_write_MiBps=%.1f seq_read_MiBps=%.1f rand_read_iops=%.0f rand_write_iops=%.0f\n",
           sw, sr, rr, rw);
    return 0;
}
