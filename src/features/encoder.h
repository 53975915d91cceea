/* features/encoder.h: the one interface every content encoder implements.
 *
 * An encoder turns one item's raw content into a fixed-length float vector:
 * an image path, an audio path, or a text. Some encoders are fitted on the
 * catalogue first (a text vocabulary and IDF, an LSA basis); everything they
 * fitted is saved with save() and restored with load(), so that a new item is
 * encoded exactly as the training catalogue was. Built-in encoders live in
 * features/ (image.c, text_*.c, audio.c); pretrained ONNX encoders plug in
 * through the same table. After fit (or load) encode() is thread-safe. */
#ifndef PR_FEATURES_ENCODER_H
#define PR_FEATURES_ENCODER_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"

enum { PR_MOD_IMAGE = 0, PR_MOD_TEXT = 1, PR_MOD_AUDIO = 2, PR_MOD_OTHER = 3 };

/* What encode() receives: a file path (image, audio; already resolved) or a text. */
typedef struct pr_encoder pr_encoder;

typedef struct pr_encoder_ops {
    const char *name;     /* registry name, e.g. "image", "text-lsa", "text-glove", "audio-mfcc" */
    int modality;         /* PR_MOD_* the encoder reads */
    const char *help;     /* one line: what it computes and its ARGS */
    /* New unfitted encoder from "key=value,key=value" args (may be NULL or ""). */
    int (*create)(pr_encoder **out, const char *args, pr_error *err);
    /* Fit on the catalogue (inputs[i] may be NULL for a missing item); NULL when stateless. */
    int (*fit)(pr_encoder *e, const char *const *inputs, int64_t n, pr_pool *pool, pr_error *err);
    int (*dim)(const pr_encoder *e);
    /* Encode one input into out[dim()]. Errors are per item, e.g. a corrupt image. */
    int (*encode)(const pr_encoder *e, const char *input, float *out, pr_error *err);
    int (*save)(const pr_encoder *e, pr_buf *b);
    int (*load)(pr_encoder **out, pr_cur *c, pr_error *err);
    void (*free)(pr_encoder *e);
} pr_encoder_ops;

/* Base struct: every implementation's struct starts with it. */
struct pr_encoder {
    const pr_encoder_ops *ops;
};

/* Registry (features/encoder.c). NAME[:ARGS] spec -> new encoder. */
const pr_encoder_ops *pr_encoder_find(const char *name);
const pr_encoder_ops *pr_encoder_default(int modality);
int pr_encoder_create(const char *spec, int modality, pr_encoder **out, pr_error *err);
/* Save/load with the name in front, so load needs no outside knowledge. */
int pr_encoder_save(const pr_encoder *e, pr_buf *b);
int pr_encoder_load(pr_encoder **out, pr_cur *c, pr_error *err);
void pr_encoder_free(pr_encoder *e);

/* Encode many items on the pool, with progress. out is (n, dim) row-major;
 * a row whose input is NULL or fails to encode is zero-filled and flagged in
 * status[i]: 0 ok, 1 missing, 2 failed (its message logged with the item index). */
int pr_encoder_encode_all(const pr_encoder *e, const char *const *inputs, int64_t n,
                          pr_pool *pool, float *out, uint8_t *status, pr_error *err);

/* Argument helper for create(): walk "key=value,key=value" (spaces around
 * keys and values trimmed; values cannot contain ','). Each call stores the
 * next pair in key[kcap] / val[vcap] and returns 1, returns 0 at the end, or
 * PR_E_ARG naming `who` for a pair without '=' or too long. */
int pr_encoder_args_next(const char **args, const char *who, char *key, size_t kcap, char *val,
                         size_t vcap, pr_error *err);

#endif
