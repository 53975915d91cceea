/* features/items.h: reading an ITEMS file, the raw content of the catalogue.
 *
 * A delimited file with a header line: tab-separated when the header has a
 * tab, else comma-separated; fields may be quoted ("a, b", "say ""hi""",
 * newlines inside quotes too); a UTF-8 BOM, CRLF line ends and blank lines
 * are accepted. Columns are picked by header name (case-insensitive):
 *   id:    item, id, item_id, itemid             (required, unique)
 *   image: image, image_path, img, poster, photo
 *   audio: audio, audio_path, sound, wav
 *   text:  text, and every text-like column -- title, name, description,
 *          desc, summary, overview, plot, genres, tags, keywords, caption,
 *          and any name ending in "title", "name" or "description" (e.g.
 *          productDisplayName) -- non-empty values joined with ". " in
 *          column order.
 * Other columns are ignored. pr_items_opts may name the columns instead.
 * Relative image/audio paths are resolved against the ITEMS file's folder;
 * an empty field gives NULL. Paths are not checked for existence here (the
 * encoders report unreadable files per item).
 * Errors name the file and line: a row with the wrong number of fields, an
 * unterminated quote, an empty or repeated item id. */
#ifndef PR_FEATURES_ITEMS_H
#define PR_FEATURES_ITEMS_H

#include <stdint.h>

#include "core/err.h"

typedef struct pr_items {
    int64_t n;
    char **id;      /* (n) item ids, never NULL */
    char **image;   /* (n) resolved path or NULL */
    char **text;    /* (n) joined text or NULL */
    char **audio;   /* (n) resolved path or NULL */
    int has_image, has_text, has_audio; /* whether such a column exists */
} pr_items;

typedef struct pr_items_opts {
    const char *id_col;    /* NULL: automatic */
    const char *image_col; /* NULL: automatic; "" or "-": none */
    const char *audio_col;
    const char *text_cols; /* comma-separated list, joined in that order */
} pr_items_opts;

/* Read path into *out (owned by the caller: pr_items_free). o may be NULL. */
int pr_items_read(const char *path, const pr_items_opts *o, pr_items **out, pr_error *err);
void pr_items_free(pr_items *it); /* NULL is a no-op */

#endif
