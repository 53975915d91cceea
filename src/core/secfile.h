/* core/secfile.h: a self-contained file of named, checksummed sections.
 *
 * Layout (little-endian):
 *   0   magic "POLYREC\0"            8 bytes
 *   8   u32 version (1), u32 byte-order mark 0x01020304
 *   16  u32 n_sections, u32 table_crc (CRC-32C of the table)
 *   24  u64 file_size
 *   32  table: n_sections x { char name[32]; u64 offset; u64 size; u32 crc; u32 pad }
 *   ... section payloads, each starting on a 64-byte boundary, so float arrays
 *       can be used in place from a read-only mmap.
 * Written atomically (temp file + rename); opened with mmap, every offset,
 * size and checksum verified before anything is handed out, so a truncated or
 * corrupted file is a clear PR_E_FORMAT error. The model file is one of these. */
#ifndef PR_CORE_SECFILE_H
#define PR_CORE_SECFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/fileio.h"

#define PR_SEC_NAME 32
#define PR_SEC_MAX 4096

typedef struct pr_secwriter {
    int n, cap;
    struct { char name[PR_SEC_NAME]; const void *data; size_t size; void *owned; } *sec;
} pr_secwriter;

void pr_secwriter_init(pr_secwriter *w);
/* Add a section that borrows data (it must live until write); copy = 1 copies it. */
int pr_secwriter_add(pr_secwriter *w, const char *name, const void *data, size_t size, int copy);
int pr_secwriter_write(pr_secwriter *w, const char *path, pr_error *err);
void pr_secwriter_deinit(pr_secwriter *w);

typedef struct pr_secfile {
    pr_map map;
    uint32_t n;
    const uint8_t *table;
    char *path;
} pr_secfile;

int pr_secfile_open(pr_secfile *f, const char *path, pr_error *err);
void pr_secfile_close(pr_secfile *f);
/* Borrow a section; returns 0, or PR_E_NOTFOUND when absent. */
int pr_secfile_get(const pr_secfile *f, const char *name, const void **data, size_t *size);

#endif
