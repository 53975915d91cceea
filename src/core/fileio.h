/* core/fileio.h: atomic writes, read-only maps and checksums.
 *
 * pr_atomic_open writes to a temporary file beside the destination;
 * pr_atomic_commit flushes, fsyncs and renames it over the destination, so a
 * reader (or a crash) sees either the old file or the new one, never a part.
 * pr_atomic_abort removes the temporary. */
#ifndef PR_CORE_FILEIO_H
#define PR_CORE_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

typedef struct pr_atomic {
    FILE *f;
    char *path, *tmp;
} pr_atomic;

int pr_atomic_open(pr_atomic *a, const char *path, pr_error *err);
int pr_atomic_commit(pr_atomic *a, pr_error *err); /* closes; a->f is NULL after */
void pr_atomic_abort(pr_atomic *a);                /* safe after commit */

typedef struct pr_map {
    const uint8_t *data;
    size_t size;
} pr_map;

/* Map a whole file read-only. An empty file maps to size 0, data NULL. */
int pr_map_open(pr_map *m, const char *path, pr_error *err);
void pr_map_close(pr_map *m);

/* Read a whole file into a NUL-terminated heap buffer (owned by the caller). */
int pr_read_file(const char *path, char **out, size_t *size, pr_error *err);

/* CRC-32C (Castagnoli), software slicing-by-1; continue with crc = previous. */
uint32_t pr_crc32c(uint32_t crc, const void *data, size_t n);

#endif
