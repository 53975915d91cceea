/* cli/split.h: a score split by part (models/parts.h), as recommend
 * --explain and explain print it.
 *
 * Text: "id +1.234 (52%)  image +0.4012 (17%)  text -0.1102 (-5%)": each
 * part's contribution u . h_part(i) + its bias (they sum to the score), and
 * its share of the sum of |contributions| (signed). JSON: {"id": 1.234,
 * "image": 0.4012, "text": -0.1102}. The ID part is left out for models
 * without IDs (content-kNN), "base" shown only where the model has one. */
#ifndef PR_CLI_SPLIT_H
#define PR_CLI_SPLIT_H

#include <stdio.h>

#include "models/modelfile.h"
#include "models/parts.h"

typedef struct cli_split {
    int ok;          /* the file has a usable "parts" section */
    pr_parts_view v; /* borrowed from the model file's mapping */
    char why[256];   /* !ok: why there is no split */
} cli_split;

/* Read r's "parts" section. A file without one is not an error (ok = 0,
 * why says so); a malformed one is (PR_E_FORMAT naming the field). */
int cli_split_open(const pr_recsys *r, cli_split *s, pr_error *err);
/* c (PR_MAX_PARTS) for item i and user vector u: 0, or PR_E_NOTFOUND when
 * the item has no stored split (added by a tower without one), PR_E_NOMEM. */
int cli_split_item(const pr_recsys *r, const cli_split *s, const float *u, int32_t i, double *c);
/* The parts of c as text or as a JSON object. */
void cli_split_print(FILE *f, const cli_split *s, const double *c, int json);
/* "exact" or "shapley" (some term split by Shapley values). */
const char *cli_split_method(const cli_split *s);
/* One line saying what the numbers are (text output), and the Shapley note. */
void cli_split_legend(FILE *f, const cli_split *s, const char *model);
/* A line saying which term is split by Shapley values, when one is. */
void cli_split_shapley_note(FILE *f, const cli_split *s, const char *model);

#endif
