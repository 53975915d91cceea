/* cli/args.h: command-line flags, declared per command in a table.
 * "--name value" and "--name=value" are accepted; flags without a value are
 * switches. Unknown flags, missing values and repeated non-repeatable flags
 * are errors that name the flag. "--help" asks for the usage text. */
#ifndef PR_CLI_ARGS_H
#define PR_CLI_ARGS_H

#include "core/err.h"

typedef struct pr_flag {
    const char *name;   /* without the leading dashes */
    const char *value;  /* value placeholder ("PATH"), NULL for a switch */
    const char *help;
    int repeat;         /* may be given several times */
} pr_flag;

#define PR_ARGS_MAX 64

typedef struct pr_args {
    const pr_flag *flags;
    int n;
    struct { const pr_flag *flag; const char *value; } got[PR_ARGS_MAX];
    int help;
} pr_args;

int pr_args_parse(pr_args *a, const pr_flag *flags, int argc, char **argv, pr_error *err);
/* Last value of a flag, or dflt. */
const char *pr_args_get(const pr_args *a, const char *name, const char *dflt);
int pr_args_has(const pr_args *a, const char *name);
/* i-th value of a repeatable flag, NULL past the end. */
const char *pr_args_nth(const pr_args *a, const char *name, int i);
void pr_args_usage(const char *cmd, const char *synopsis, const pr_flag *flags);

/* Shared flag groups, terminated by a flag with name NULL in each command's table. */
#define PR_FLAGS_DATA                                                                          \
    {"data", "PATH", "interaction file (csv/tsv, MovieLens ratings.csv or u.data, MMRec .inter)", 0}, \
    {"format", "FMT", "auto|tsv|csv|movielens|mmrec (default auto)", 0},                       \
    {"min-rating", "R", "keep ratings >= R as positives (default: keep all)", 0},              \
    {"kcore", "K", "drop users and items with fewer than K positives, repeatedly", 0},        \
    {"split", "RULE", "column|random:0.8,0.1,0.1|loo|temporal:0.8,0.1,0.1|temporal-user:..|cold-items:0.2", 0}, \
    {"skip-bad", NULL, "skip malformed lines (and report how many) instead of failing", 0},   \
    {"seed", "S", "random seed for splits and training (default 999)", 0}

#endif
