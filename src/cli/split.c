/* cli/split.c: printing a score split by part (see split.h). */
#include "cli/split.h"

#include <math.h>
#include <string.h>

#include "cli/common.h"

int cli_split_open(const pr_recsys *r, cli_split *s, pr_error *err) {
    pr_error e2;
    memset(s, 0, sizeof *s);
    int rc = pr_recsys_parts(r, &s->v, &e2);
    if (rc == PR_E_NOTFOUND) {
        snprintf(s->why, sizeof s->why, "split by part unavailable: the model file has no 'parts' section (model %s; "
                 "files from before the split, and models such as ItemKNN or the graph models, have none)", r->model);
        return 0;
    }
    if (rc) {
        if (err) *err = e2;
        return rc;
    }
    s->ok = 1;
    return 0;
}

int cli_split_item(const pr_recsys *r, const cli_split *s, const float *u, int32_t i, double *c) {
    if (!s->ok) return PR_E_NOTFOUND;
    return pr_recsys_split(r, &s->v, u, i, c);
}

static int shown(const cli_split *s, int q) { return q > 0 || (s->v.flags & PR_PARTS_ID); }

void cli_split_print(FILE *f, const cli_split *s, const double *c, int json) {
    double tot = 0;
    int first = 1;
    for (int q = 0; q < s->v.n_parts; q++)
        if (shown(s, q)) tot += fabs(c[q]);
    if (json) fprintf(f, "{");
    for (int q = 0; q < s->v.n_parts; q++) {
        if (!shown(s, q)) continue;
        if (json) {
            fprintf(f, "%s", first ? "" : ", ");
            cli_json_str(f, s->v.names[q]);
            fprintf(f, ": %.6g", c[q]);
        } else {
            fprintf(f, "%s%s %+.4g (%.0f%%)", first ? "" : "  ", s->v.names[q], c[q], tot > 0 ? 100.0 * c[q] / tot : 0.0);
        }
        first = 0;
    }
    if (json) fprintf(f, "}");
}

const char *cli_split_method(const cli_split *s) { return s->v.flags & PR_PARTS_SHAPLEY ? "shapley" : "exact"; }

void cli_split_legend(FILE *f, const cli_split *s, const char *model) {
    if (!s->ok) {
        fprintf(f, "(%s)\n", s->why);
        return;
    }
    fprintf(f, "(score split by part: each part's contribution u . h_part(i) + its bias; they sum to the score; "
               "%% = share of the sum of |contributions|)\n");
    cli_split_shapley_note(f, s, model);
}

void cli_split_shapley_note(FILE *f, const cli_split *s, const char *model) {
    if (s->ok && (s->v.flags & PR_PARTS_SHAPLEY))
        fprintf(f, "(%s: a term that is not additive over the parts is split by Shapley values; 'base' is its value "
                   "with no part present)\n", model);
}
