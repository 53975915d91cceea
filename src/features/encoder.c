/* features/encoder.c: the encoder registry, save/load with the name in front,
 * and encoding a whole catalogue on the pool (see encoder.h).
 *
 * The registry is one static table; a new encoder is one line in it. The
 * default encoder of each modality is named, not pointed to, so the table
 * can grow without touching the defaults. Saved form of an encoder:
 *   str name | i64 n | n bytes of the encoder's own save()
 * so a loader can check that the encoder consumed exactly its own bytes. */
#include "encoder.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "features/text_glove.h"
#include "features/text_lsa.h"
#include "features/image.h"
#include "features/audio.h"

static const pr_encoder_ops *const registry[] = {
    &pr_text_lsa_ops,
    &pr_text_glove_ops,
    &pr_image_encoder_ops,
    &pr_audio_encoder_ops,
};

static const struct {
    int modality;
    const char *name;
} defaults[] = {
    {PR_MOD_IMAGE, "image"},
    {PR_MOD_TEXT, "text-lsa"},
    {PR_MOD_AUDIO, "audio-mfcc"},
};

#define N_REGISTRY (sizeof registry / sizeof registry[0])
#define ENC_FAIL_LOG_MAX 10 /* failures logged one by one; the rest are counted */

static const char *modality_name(int m) {
    switch (m) {
    case PR_MOD_IMAGE: return "image";
    case PR_MOD_TEXT: return "text";
    case PR_MOD_AUDIO: return "audio";
    default: return "other";
    }
}

const pr_encoder_ops *pr_encoder_find(const char *name) {
    for (size_t i = 0; name && i < N_REGISTRY; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

const pr_encoder_ops *pr_encoder_default(int modality) {
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (defaults[i].modality == modality) return pr_encoder_find(defaults[i].name);
    return NULL;
}

/* "text-lsa, text-glove, ..." for error messages. */
static void known_names(char *out, size_t cap) {
    out[0] = '\0';
    for (size_t i = 0; i < N_REGISTRY; i++) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", i ? ", " : "", registry[i]->name);
    }
}

int pr_encoder_create(const char *spec, int modality, pr_encoder **out, pr_error *err) {
    char name[64];
    const char *args = "";
    const char *colon = spec ? strchr(spec, ':') : NULL;
    size_t n = spec ? (colon ? (size_t)(colon - spec) : strlen(spec)) : 0;
    if (n >= sizeof name) return pr_err(err, PR_E_ARG, "encoder '%.40s...': name too long", spec);
    if (n) memcpy(name, spec, n);
    name[n] = '\0';
    if (colon) args = colon + 1;
    const pr_encoder_ops *ops;
    if (n == 0) { /* "" or ":args": the modality's default */
        if (!(ops = pr_encoder_default(modality)))
            return pr_err(err, PR_E_NOTFOUND, "no default encoder for %s", modality_name(modality));
    } else if (!(ops = pr_encoder_find(name))) {
        char known[256];
        known_names(known, sizeof known);
        return pr_err(err, PR_E_NOTFOUND, "unknown encoder '%s' (known: %s)", name, known);
    }
    if (modality >= 0 && ops->modality != modality)
        return pr_err(err, PR_E_ARG, "encoder '%s' reads %s, not %s", ops->name,
                      modality_name(ops->modality), modality_name(modality));
    pr_encoder *e = NULL;
    int rc = ops->create(&e, args, err);
    if (rc) return rc;
    e->ops = ops;
    *out = e;
    return 0;
}

void pr_encoder_free(pr_encoder *e) {
    if (e) e->ops->free(e);
}

int pr_encoder_save(const pr_encoder *e, pr_buf *b) {
    pr_buf sub;
    pr_buf_init(&sub);
    int rc = e->ops->save(e, &sub);
    if (rc == 0 && sub.oom) rc = PR_E_NOMEM;
    if (rc == 0) {
        pr_buf_put_str(b, e->ops->name);
        pr_buf_put_i64(b, (int64_t)sub.len);
        pr_buf_put(b, sub.data, sub.len);
        if (b->oom) rc = PR_E_NOMEM;
    }
    pr_buf_free(&sub);
    return rc;
}

int pr_encoder_load(pr_encoder **out, pr_cur *c, pr_error *err) {
    char *name = NULL;
    int64_t n = 0;
    int rc;
    if ((rc = pr_cur_get_str(c, &name, 63, err)) || (rc = pr_cur_get_i64(c, &n, err))) goto done;
    const pr_encoder_ops *ops = pr_encoder_find(name);
    if (!ops) {
        rc = pr_err(err, PR_E_NOTFOUND, "%s: encoder '%s' is not built into this polyrec", c->what, name);
        goto done;
    }
    if (n < 0 || (uint64_t)n > pr_cur_left(c)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: encoder '%s': state of %lld bytes is truncated", c->what, name, (long long)n);
        goto done;
    }
    char what[128];
    snprintf(what, sizeof what, "%s: encoder '%s'", c->what, name);
    pr_cur sub;
    pr_cur_init(&sub, c->p, (size_t)n, what);
    pr_encoder *e = NULL;
    if ((rc = ops->load(&e, &sub, err))) goto done;
    e->ops = ops;
    if (pr_cur_left(&sub) != 0) {
        rc = pr_err(err, PR_E_FORMAT, "%s: %zu unread bytes at the end", what, pr_cur_left(&sub));
        ops->free(e);
        goto done;
    }
    c->p += n;
    *out = e;
done:
    free(name);
    return rc;
}

/* ------------------------------------------------------------------ */
/* encoding a catalogue                                                 */

typedef struct {
    const pr_encoder *e;
    const char *const *inputs;
    int64_t n;
    int dim;
    float *out;
    uint8_t *status;
    atomic_llong next, done, failed, missing;
    pr_progress prog;
    pr_error first;     /* written by the thread whose failure was number 0 */
    int64_t first_item;
} encode_job;

static void encode_items(void *ctx, int ith, int nth) {
    encode_job *J = ctx;
    pr_error err;
    for (;;) {
        int64_t i = atomic_fetch_add(&J->next, 1); /* dynamic: items differ in cost */
        if (i >= J->n) break;
        float *y = J->out + i * J->dim;
        uint8_t st = 0;
        if (!J->inputs[i]) {
            memset(y, 0, sizeof *y * (size_t)J->dim);
            st = 1;
            atomic_fetch_add(&J->missing, 1);
        } else {
            err.code = 0;
            err.msg[0] = '\0';
            int rc = J->e->ops->encode(J->e, J->inputs[i], y, &err);
            for (int j = 0; rc == 0 && j < J->dim; j++)
                if (!isfinite(y[j])) rc = pr_err(&err, PR_E_NUMERIC, "output value %d is not finite", j);
            if (rc) {
                memset(y, 0, sizeof *y * (size_t)J->dim);
                st = 2;
                long long k = atomic_fetch_add(&J->failed, 1);
                if (k == 0) {
                    J->first = err;
                    J->first.code = rc;
                    J->first_item = i;
                }
                if (k < ENC_FAIL_LOG_MAX) pr_log("encoder %s: item %lld: %s", J->e->ops->name, (long long)i, err.msg);
            }
        }
        if (J->status) J->status[i] = st;
        long long d = atomic_fetch_add(&J->done, 1) + 1;
        if (ith == 0) pr_progress_update(&J->prog, d);
    }
}

int pr_encoder_encode_all(const pr_encoder *e, const char *const *inputs, int64_t n,
                          pr_pool *pool, float *out, uint8_t *status, pr_error *err) {
    encode_job *J = pr_calloc(1, sizeof *J);
    if (!J) return pr_err(err, PR_E_NOMEM, "encode");
    J->e = e;
    J->inputs = inputs;
    J->n = n;
    J->dim = e->ops->dim(e);
    J->out = out;
    J->status = status;
    atomic_init(&J->next, 0);
    atomic_init(&J->done, 0);
    atomic_init(&J->failed, 0);
    atomic_init(&J->missing, 0);
    char label[80];
    snprintf(label, sizeof label, "encode %s", e->ops->name);
    pr_progress_init(&J->prog, label, n);
    double t0 = pr_now();
    pr_pool_run(pool, encode_items, J);
    pr_progress_update(&J->prog, n);
    pr_progress_end(&J->prog);
    long long failed = atomic_load(&J->failed), missing = atomic_load(&J->missing);
    double dt = pr_now() - t0;
    pr_log("encoder %s: %lld items in %.2fs (%.0f/s): %lld missing, %lld failed", e->ops->name,
           (long long)n, dt, dt > 0 ? (double)n / dt : 0.0, missing, failed);
    int rc = 0;
    if (failed > 0 && failed + missing == n)
        rc = pr_err(err, J->first.code, "encoder %s: all %lld items failed; item %lld: %s",
                    e->ops->name, failed, (long long)J->first_item, J->first.msg);
    free(J);
    return rc;
}

/* ------------------------------------------------------------------ */
/* arguments                                                            */

static size_t trim(const char *s, size_t n, const char **start) {
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    *start = s;
    return n;
}

int pr_encoder_args_next(const char **args, const char *who, char *key, size_t kcap, char *val,
                         size_t vcap, pr_error *err) {
    const char *s = *args;
    while (s && (*s == ',' || *s == ' ')) s++;
    if (!s || !*s) return 0;
    size_t n = strcspn(s, ",");
    const char *eq = memchr(s, '=', n), *k, *v;
    if (!eq) return pr_err(err, PR_E_ARG, "%s: argument '%.*s' is not key=value", who, (int)n, s);
    size_t kn = trim(s, (size_t)(eq - s), &k), vn = trim(eq + 1, n - (size_t)(eq - s) - 1, &v);
    if (kn == 0 || kn >= kcap || vn >= vcap)
        return pr_err(err, PR_E_ARG, "%s: argument '%.*s' has an empty or too long key or value", who, (int)n, s);
    memcpy(key, k, kn);
    key[kn] = '\0';
    memcpy(val, v, vn);
    val[vn] = '\0';
    *args = s + n;
    return 1;
}
