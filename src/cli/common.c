/* cli/common.c: dataset loading and metric output shared by commands. */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

int cli_seed(const pr_args *a, uint64_t *seed, pr_error *err) {
    const char *s = pr_args_get(a, "seed", "999");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno) return pr_err(err, PR_E_ARG, "--seed: '%s' is not an integer", s);
    *seed = v;
    return 0;
}

static int parse_format(const char *s, int *fmt, pr_error *err) {
    static const char *names[] = {"auto", "tsv", "csv", "movielens", "mmrec"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) {
            *fmt = i;
            return 0;
        }
    return pr_err(err, PR_E_ARG, "--format: '%s' is not one of auto, tsv, csv, movielens, mmrec", s);
}

int cli_load_dataset(const pr_args *a, pr_dataset **out, pr_error *err) {
    const char *path = pr_args_get(a, "data", NULL);
    if (!path) return pr_err(err, PR_E_ARG, "--data PATH is required");
    pr_read_opts ro = {0};
    pr_filter_opts fo = {NAN, 0};
    pr_split_opts so;
    int rc;
    if ((rc = parse_format(pr_args_get(a, "format", "auto"), &ro.format, err))) return rc;
    ro.skip_bad = pr_args_has(a, "skip-bad");
    const char *mr = pr_args_get(a, "min-rating", NULL);
    if (mr) {
        char *end;
        fo.min_rating = strtof(mr, &end);
        if (end == mr || *end || !isfinite(fo.min_rating))
            return pr_err(err, PR_E_ARG, "--min-rating: '%s' is not a number", mr);
    }
    const char *kc = pr_args_get(a, "kcore", NULL);
    if (kc) {
        char *end;
        long k = strtol(kc, &end, 10);
        if (end == kc || *end || k < 0 || k > 1000000)
            return pr_err(err, PR_E_ARG, "--kcore: '%s' is not a count", kc);
        fo.kcore = (int)k;
    }
    if ((rc = pr_split_parse(pr_args_get(a, "split", "default"), &so, err))) return rc;
    if ((rc = cli_seed(a, &so.seed, err))) return rc;
    pr_interactions *x = NULL;
    if ((rc = pr_interactions_read(path, &ro, &x, err))) return rc;
    if (x->skipped) pr_log("%s: skipped %lld malformed lines", path, (long long)x->skipped);
    if ((rc = pr_interactions_filter(&x, &fo, err))) {
        pr_interactions_free(x);
        return rc;
    }
    rc = pr_dataset_split(x, &so, out, err);
    if (rc == 0)
        pr_log("%s: %d users, %d items, %lld train / %lld valid / %lld test", path, (*out)->n_users,
               (*out)->n_items, (long long)(*out)->train->nnz, (long long)(*out)->valid->nnz,
               (long long)(*out)->test->nnz);
    return rc;
}

int cli_ks(const pr_args *a, const char *dflt, int *ks, pr_error *err) {
    const char *s = pr_args_get(a, "k", dflt);
    int n = pr_parse_ks(s, ks, PR_MAX_KS);
    if (n < 0) return pr_err(err, PR_E_ARG, "--k: '%s' should be a list like 10,20 (1..1000, at most %d)", s, PR_MAX_KS);
    return n;
}

void cli_print_metrics(FILE *f, const char *title, const pr_metrics *m) {
    fprintf(f, "%s (%lld users)\n", title, (long long)m->users);
    fprintf(f, "  %-5s %9s %9s %9s %9s %9s %9s %9s %9s\n", "K", "recall", "ndcg", "precision",
            "hit", "map", "mrr", "coverage", "arp");
    for (int k = 0; k < m->n_k; k++) {
        fprintf(f, "  %-5d", m->ks[k]);
        const int order[] = {PR_M_RECALL, PR_M_NDCG, PR_M_PRECISION, PR_M_HIT, PR_M_MAP, PR_M_MRR};
        for (int j = 0; j < 6; j++) fprintf(f, " %9.4f", m->sum[k][order[j]]);
        fprintf(f, " %9.4f %9.1f\n", m->coverage[k], m->arp_sum[k]);
    }
    if (m->with_auc) fprintf(f, "  auc %.4f\n", m->auc_sum);
}

void cli_json_metrics(FILE *f, const pr_metrics *m) {
    fputc('{', f);
    for (int k = 0; k < m->n_k; k++) {
        for (int j = 0; j < PR_M_COUNT; j++)
            fprintf(f, "\"%s@%d\": %.6f, ", pr_metric_names[j], m->ks[k], m->sum[k][j]);
        fprintf(f, "\"coverage@%d\": %.6f, \"arp@%d\": %.3f, ", m->ks[k], m->coverage[k], m->ks[k],
                m->arp_sum[k]);
    }
    if (m->with_auc && m->auc_sum == m->auc_sum) fprintf(f, "\"auc\": %.6f, ", m->auc_sum);
    fprintf(f, "\"users\": %lld}", (long long)m->users);
}

void cli_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}
