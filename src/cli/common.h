/* cli/common.h: what several commands share: loading a dataset from the
 * data flags, printing metrics as a table or JSON, id lookups. */
#ifndef PR_CLI_COMMON_H
#define PR_CLI_COMMON_H

#include <stdio.h>

#include "cli/args.h"
#include "data/dataset.h"
#include "eval/metrics.h"

/* Read, filter and split the interactions named by --data and friends. */
int cli_load_dataset(const pr_args *a, pr_dataset **out, pr_error *err);
/* --seed as an integer (default 999). */
int cli_seed(const pr_args *a, uint64_t *seed, pr_error *err);
/* --k list (default "10,20") into ks; returns count or negative. */
int cli_ks(const pr_args *a, const char *dflt, int *ks, pr_error *err);
/* Aligned table: one row per K with every metric, then AUC and users. */
void cli_print_metrics(FILE *f, const char *title, const pr_metrics *m);
/* {"recall@10": .., ..., "auc": .., "users": ..} without a trailing newline. */
void cli_json_metrics(FILE *f, const pr_metrics *m);
/* JSON string with escapes. */
void cli_json_str(FILE *f, const char *s);

#endif
