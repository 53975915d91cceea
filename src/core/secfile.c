/* core/secfile.c: sectioned file writer and verifying reader (see secfile.h). */
#include "secfile.h"

#include <stdlib.h>
#include <string.h>

static const char MAGIC[8] = {'P', 'O', 'L', 'Y', 'R', 'E', 'C', 0};
enum { VERSION = 1, BOM = 0x01020304, HEADER = 32, ENTRY = PR_SEC_NAME + 8 + 8 + 4 + 4, ALIGN = 64 };

void pr_secwriter_init(pr_secwriter *w) { memset(w, 0, sizeof *w); }

void pr_secwriter_deinit(pr_secwriter *w) {
    for (int i = 0; i < w->n; i++) free(w->sec[i].owned);
    free(w->sec);
    memset(w, 0, sizeof *w);
}

int pr_secwriter_add(pr_secwriter *w, const char *name, const void *data, size_t size, int copy) {
    if (strlen(name) >= PR_SEC_NAME || w->n >= PR_SEC_MAX) return PR_E_ARG;
    if (w->n == w->cap) {
        int cap = w->cap ? w->cap * 2 : 16;
        void *s = pr_realloc(w->sec, (size_t)cap, sizeof *w->sec);
        if (!s) return PR_E_NOMEM;
        w->sec = s;
        w->cap = cap;
    }
    memset(&w->sec[w->n], 0, sizeof w->sec[w->n]);
    snprintf(w->sec[w->n].name, PR_SEC_NAME, "%s", name);
    if (copy && size) {
        void *c = malloc(size);
        if (!c) return PR_E_NOMEM;
        memcpy(c, data, size);
        w->sec[w->n].owned = c;
        data = c;
    }
    w->sec[w->n].data = data;
    w->sec[w->n].size = size;
    w->n++;
    return 0;
}

static uint64_t align_up(uint64_t x) { return (x + ALIGN - 1) & ~(uint64_t)(ALIGN - 1); }

int pr_secwriter_write(pr_secwriter *w, const char *path, pr_error *err) {
    uint64_t off = align_up(HEADER + (uint64_t)w->n * ENTRY);
    uint8_t *table = pr_calloc((size_t)w->n, ENTRY);
    if (!table) return pr_err(err, PR_E_NOMEM, "%s", path);
    for (int i = 0; i < w->n; i++) {
        uint8_t *e = table + (size_t)i * ENTRY;
        uint64_t size = w->sec[i].size;
        uint32_t crc = pr_crc32c(0, w->sec[i].data, w->sec[i].size), pad = 0;
        memcpy(e, w->sec[i].name, PR_SEC_NAME);
        memcpy(e + 32, &off, 8);
        memcpy(e + 40, &size, 8);
        memcpy(e + 48, &crc, 4);
        memcpy(e + 52, &pad, 4);
        off = align_up(off + size);
    }
    uint8_t hdr[HEADER] = {0};
    uint32_t v = VERSION, bom = BOM, n = (uint32_t)w->n, tcrc = pr_crc32c(0, table, (size_t)w->n * ENTRY);
    memcpy(hdr, MAGIC, 8);
    memcpy(hdr + 8, &v, 4);
    memcpy(hdr + 12, &bom, 4);
    memcpy(hdr + 16, &n, 4);
    memcpy(hdr + 20, &tcrc, 4);
    memcpy(hdr + 24, &off, 8);
    pr_atomic a;
    int rc = pr_atomic_open(&a, path, err);
    if (rc) {
        free(table);
        return rc;
    }
    static const uint8_t zeros[ALIGN] = {0};
    uint64_t pos = HEADER + (uint64_t)w->n * ENTRY;
    fwrite(hdr, 1, HEADER, a.f);
    fwrite(table, 1, (size_t)w->n * ENTRY, a.f);
    for (int i = 0; i < w->n; i++) {
        fwrite(zeros, 1, (size_t)(align_up(pos) - pos), a.f);
        pos = align_up(pos);
        if (w->sec[i].size) fwrite(w->sec[i].data, 1, w->sec[i].size, a.f);
        pos += w->sec[i].size;
    }
    fwrite(zeros, 1, (size_t)(align_up(pos) - pos), a.f);
    free(table);
    return pr_atomic_commit(&a, err);
}

int pr_secfile_open(pr_secfile *f, const char *path, pr_error *err) {
    memset(f, 0, sizeof *f);
    int rc = pr_map_open(&f->map, path, err);
    if (rc) return rc;
    const uint8_t *p = f->map.data;
    size_t size = f->map.size;
    uint32_t v, bom, n, tcrc;
    uint64_t fsize;
    if (size < HEADER || memcmp(p, MAGIC, 8) != 0) {
        rc = pr_err(err, PR_E_FORMAT, "%s: not a polyrec model file (bad magic)", path);
        goto fail;
    }
    memcpy(&v, p + 8, 4);
    memcpy(&bom, p + 12, 4);
    memcpy(&n, p + 16, 4);
    memcpy(&tcrc, p + 20, 4);
    memcpy(&fsize, p + 24, 8);
    if (bom != BOM) { rc = pr_err(err, PR_E_FORMAT, "%s: written on a host of other byte order", path); goto fail; }
    if (v != VERSION) { rc = pr_err(err, PR_E_FORMAT, "%s: format version %u, this build reads %d", path, v, VERSION); goto fail; }
    if (fsize != size) {
        rc = pr_err(err, PR_E_FORMAT, "%s: truncated or extended (header says %llu bytes, file has %zu)",
                    path, (unsigned long long)fsize, size);
        goto fail;
    }
    if (n > PR_SEC_MAX || HEADER + (uint64_t)n * ENTRY > size) {
        rc = pr_err(err, PR_E_FORMAT, "%s: corrupt section table", path);
        goto fail;
    }
    f->table = p + HEADER;
    f->n = n;
    if (pr_crc32c(0, f->table, (size_t)n * ENTRY) != tcrc) {
        rc = pr_err(err, PR_E_FORMAT, "%s: section table checksum mismatch (file corrupted)", path);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = f->table + (size_t)i * ENTRY;
        uint64_t off, len;
        uint32_t crc;
        memcpy(&off, e + 32, 8);
        memcpy(&len, e + 40, 8);
        memcpy(&crc, e + 48, 4);
        char name[PR_SEC_NAME + 1] = {0};
        memcpy(name, e, PR_SEC_NAME);
        if (off > size || len > size - off || off % ALIGN) {
            rc = pr_err(err, PR_E_FORMAT, "%s: section '%s' lies outside the file", path, name);
            goto fail;
        }
        if (pr_crc32c(0, p + off, (size_t)len) != crc) {
            rc = pr_err(err, PR_E_FORMAT, "%s: section '%s' checksum mismatch (file corrupted)", path, name);
            goto fail;
        }
    }
    f->path = pr_strdup(path);
    return 0;
fail:
    pr_map_close(&f->map);
    return rc;
}

void pr_secfile_close(pr_secfile *f) {
    pr_map_close(&f->map);
    free(f->path);
    memset(f, 0, sizeof *f);
}

int pr_secfile_get(const pr_secfile *f, const char *name, const void **data, size_t *size) {
    for (uint32_t i = 0; i < f->n; i++) {
        const uint8_t *e = f->table + (size_t)i * ENTRY;
        if (strncmp((const char *)e, name, PR_SEC_NAME) != 0) continue;
        uint64_t off, len;
        memcpy(&off, e + 32, 8);
        memcpy(&len, e + 40, 8);
        *data = f->map.data + off;
        *size = (size_t)len;
        return 0;
    }
    return PR_E_NOTFOUND;
}
