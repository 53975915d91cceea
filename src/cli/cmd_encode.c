/* cli/cmd_encode.c: `polyrec encode` — turn a catalogue's raw content into
 * feature vectors with a built-in encoder, fitted on the whole file. Output
 * rows follow the ITEMS file's order; .npy output suits ids 0..n-1 in order
 * (MMRec's convention), any other extension writes "id<TAB>v1,v2,..." lines. */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/log.h"
#include "core/npy.h"
#include "features/encoder.h"
#include "features/items.h"
#include "features/store.h"

static const pr_flag flags[] = {
    {"items", "ITEMS", "item content file (columns item, image, text, audio)", 0},
    {"modality", "MOD", "image, text or audio", 0},
    {"encoder", "NAME[:ARGS]", "encoder (default: the modality's built-in one)", 0},
    {"dim", "N", "output dimension for encoders that take one (text-lsa)", 0},
    {"out", "FEAT", "output: .npy, or delimited text for any other extension", 0},
    {"threads", "N", "worker threads (default: all cores)", 0},
    {"quiet", NULL, "no progress output", 0},
    {NULL, NULL, NULL, 0},
};

static int modality_kind(const char *s) {
    return !strcmp(s, "image") ? PR_MOD_IMAGE : !strcmp(s, "text") ? PR_MOD_TEXT : !strcmp(s, "audio") ? PR_MOD_AUDIO : -1;
}

int cmd_encode(int argc, char **argv, pr_error *err) {
    pr_args a;
    int rc = pr_args_parse(&a, flags, argc, argv, err);
    if (rc) return rc;
    if (a.help) {
        pr_args_usage("encode", "--items ITEMS --modality image|text|audio [--encoder NAME[:ARGS]] [--dim N] --out FEAT.npy", flags);
        return 0;
    }
    if (pr_args_has(&a, "quiet")) pr_log_set_level(PR_LOG_QUIET);
    const char *path = pr_args_get(&a, "items", NULL), *mod = pr_args_get(&a, "modality", NULL);
    const char *out = pr_args_get(&a, "out", NULL), *dim = pr_args_get(&a, "dim", NULL);
    if (!path || !mod || !out) return pr_err(err, PR_E_ARG, "--items, --modality and --out are required");
    int kind = modality_kind(mod);
    if (kind < 0) return pr_err(err, PR_E_ARG, "--modality: '%s' is not image, text or audio", mod);
    const char *enc_name = pr_args_get(&a, "encoder", pr_encoder_default(kind)->name);
    char spec[512];
    snprintf(spec, sizeof spec, "%s%s%s%s%s", enc_name, dim ? (strchr(enc_name, ':') ? "," : ":") : "",
             dim ? "dim=" : "", dim ? dim : "", "");
    pr_items *it = NULL;
    pr_encoder *e = NULL;
    pr_pool *pool = NULL;
    pr_features *f = NULL;
    pr_idmap *ids = NULL;
    float *X = NULL;
    uint8_t *status = NULL;
    if ((rc = pr_items_read(path, NULL, &it, err))) goto done;
    char **col = kind == PR_MOD_IMAGE ? it->image : kind == PR_MOD_TEXT ? it->text : it->audio;
    int has = kind == PR_MOD_IMAGE ? it->has_image : kind == PR_MOD_TEXT ? it->has_text : it->has_audio;
    if (!has) { rc = pr_err(err, PR_E_ARG, "%s: no %s column", path, mod); goto done; }
    if ((rc = pr_encoder_create(spec, kind, &e, err))) goto done;
    if (!(pool = pr_pool_new(atoi(pr_args_get(&a, "threads", "0"))))) { rc = pr_err(err, PR_E_NOMEM, "pool"); goto done; }
    double t0 = pr_now();
    if (e->ops->fit && (rc = e->ops->fit(e, (const char *const *)col, it->n, pool, err))) goto done;
    int d = e->ops->dim(e);
    X = pr_malloc((size_t)it->n * d, sizeof *X);
    status = pr_calloc((size_t)it->n, 1);
    ids = pr_idmap_new();
    if (!X || !status || !ids) { rc = pr_err(err, PR_E_NOMEM, "encode"); goto done; }
    if ((rc = pr_encoder_encode_all(e, (const char *const *)col, it->n, pool, X, status, err))) goto done;
    int64_t miss = 0, failed = 0;
    for (int64_t r = 0; r < it->n; r++) {
        if (status[r] == 2) {
            if (failed < 20) fprintf(stderr, "encode: item '%s' failed\n", it->id[r]);
            failed++;
        }
        miss += status[r] == 1;
        status[r] = status[r] != 0;
        if (pr_idmap_add(ids, it->id[r], strlen(it->id[r])) != (int32_t)r) {
            rc = pr_err(err, PR_E_PARSE, "%s: item '%s' listed twice", path, it->id[r]);
            goto done;
        }
    }
    double secs = pr_now() - t0;
    if (!(f = pr_features_new())) { rc = pr_err(err, PR_E_NOMEM, "encode"); goto done; }
    if ((rc = pr_features_add(f, mod, (int32_t)it->n, d, X, status, err))) { X = NULL; status = NULL; goto done; }
    X = NULL;
    status = NULL;
    size_t ol = strlen(out);
    int npy = ol > 4 && !strcmp(out + ol - 4, ".npy");
    rc = npy ? pr_features_save_npy(f, mod, out, NULL, err) : pr_features_save_text(f, mod, out, ids, err);
    if (rc) goto done;
    printf("%s: %lld items, %lld encoded, %lld missing, %lld failed; %d dims with %s; %.2fs (%.0f items/s); wrote %s\n",
           path, (long long)it->n, (long long)(it->n - miss - failed), (long long)miss, (long long)failed, d,
           e->ops->name, secs, secs > 0 ? (double)it->n / secs : 0.0, out);
done:
    pr_items_free(it);
    pr_encoder_free(e);
    pr_pool_free(pool);
    pr_features_free(f);
    pr_idmap_free(ids);
    free(X);
    free(status);
    return rc;
}
