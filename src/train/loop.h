/* train/loop.h: the training loop, written once for every model.
 *
 * Gradient models: per epoch, epoch_begin, then for each batch sample ->
 * forward -> backward -> step; the mean loss is checked for NaN/Inf each
 * batch (failing with the epoch and batch). Every eval_every epochs the
 * snapshot is evaluated on the validation set (full ranking, train items
 * masked); the best epoch's snapshot is kept, and split by part by the
 * model's parts op (models/parts.h) once training is over, with the kept
 * epoch's parameters (copied at each new best) swapped in for the call;
 * training stops after `patience`
 * validations without improvement of the stop metric. Closed-form models are
 * fitted once and validated once. A progress line per epoch goes to stderr. */
#ifndef PR_TRAIN_LOOP_H
#define PR_TRAIN_LOOP_H

#include "eval/evaluator.h"
#include "models/model.h"

typedef struct pr_epoch_log {
    int epoch;
    double loss;          /* mean batch loss (NAN for closed-form models) */
    double valid;         /* stop metric on validation, NAN when not validated */
    double seconds;       /* training time of the epoch */
    double samples_per_s;
} pr_epoch_log;

typedef struct pr_train_result {
    int best_epoch, epochs_run;
    double best_valid;         /* stop metric at the best epoch */
    pr_metrics best_metrics;   /* validation metrics at the best epoch (no AUC unless it is the stop metric) */
    pr_snapshot best;          /* best snapshot (owned); empty for score-only models */
    double train_seconds, eval_seconds;
    pr_epoch_log *log;         /* (n_log) owned */
    int n_log;
} pr_train_result;

/* Train m. valid may be NULL or empty: then no early stopping and the last
 * epoch is kept. opts gives the cut-offs and masks for validation. */
int pr_train(pr_model *m, const pr_csr *valid, const pr_eval_opts *opts, pr_train_result *res,
             pr_error *err);
void pr_train_result_free(pr_train_result *r);

/* A scorer over a model: its snapshot when it has one, else its score op. */
void pr_model_scorer(const pr_model *m, const pr_snapshot *snap, pr_scorer *out);

#endif
