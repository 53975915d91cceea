/* core/fileio.c: temp-file + rename writes, mmap, CRC-32C (see fileio.h). */
#define _POSIX_C_SOURCE 200809L
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int pr_atomic_open(pr_atomic *a, const char *path, pr_error *err) {
    memset(a, 0, sizeof *a);
    size_t n = strlen(path);
    a->path = pr_strdup(path);
    a->tmp = malloc(n + 16);
    if (!a->path || !a->tmp) {
        pr_atomic_abort(a);
        return pr_err(err, PR_E_NOMEM, "%s", path);
    }
    snprintf(a->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int rc = pr_err(err, PR_E_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
        free(a->tmp);
        a->tmp = NULL;
        pr_atomic_abort(a);
        return rc;
    }
    fchmod(fd, 0644);
    if (!(a->f = fdopen(fd, "wb"))) {
        close(fd);
        int rc = pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
        pr_atomic_abort(a);
        return rc;
    }
    return 0;
}

int pr_atomic_commit(pr_atomic *a, pr_error *err) {
    int rc = 0;
    if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0)
        rc = pr_err(err, PR_E_IO, "%s: write failed: %s", a->path, strerror(errno));
    if (fclose(a->f) != 0 && rc == 0)
        rc = pr_err(err, PR_E_IO, "%s: close failed: %s", a->path, strerror(errno));
    a->f = NULL;
    if (rc == 0 && rename(a->tmp, a->path) != 0)
        rc = pr_err(err, PR_E_IO, "%s: rename failed: %s", a->path, strerror(errno));
    if (rc == 0) {
        free(a->tmp);
        a->tmp = NULL; /* nothing left to remove */
    }
    pr_atomic_abort(a);
    return rc;
}

void pr_atomic_abort(pr_atomic *a) {
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}

int pr_map_open(pr_map *m, const char *path, pr_error *err) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return pr_err(err, PR_E_IO, "%s: is a directory", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return pr_err(err, PR_E_IO, "%s: mmap: %s", path, strerror(errno));
        }
        m->data = p;
        m->size = (size_t)st.st_size;
    }
    close(fd);
    return 0;
}

void pr_map_close(pr_map *m) {
    if (m->data) munmap((void *)m->data, m->size);
    memset(m, 0, sizeof *m);
}

int pr_read_file(const char *path, char **out, size_t *size, pr_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    if (!buf) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) { rc = pr_err(err, PR_E_IO, "%s: read failed", path); goto done; }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    if (size) *size = n;
done:
    free(buf);
    fclose(f);
    return rc;
}

#if !(defined(__SSE4_2__) && defined(__x86_64__))
static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        crc_table[i] = c;
    }
    crc_ready = 1;
}
#endif

uint32_t pr_crc32c(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = data;
    crc = ~crc;
#if defined(__SSE4_2__) && defined(__x86_64__)
    /* the CPU's crc32 instruction computes exactly CRC-32C, 8 bytes at a time */
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        crc = (uint32_t)__builtin_ia32_crc32di(crc, w);
    }
    for (; n > 0; n--, p++) crc = __builtin_ia32_crc32qi(crc, *p);
    return ~crc;
#else
    if (!crc_ready) crc_init(); /* idempotent: racing threads write the same table */
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
#endif
}
