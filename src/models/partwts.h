/* models/partwts.h: the part weights of the kept epoch, for explanations.
 *
 * A fused content model (concatenation or attention fusion) mixes an item's
 * ID embedding and its modalities' projections into its row of V; the share
 * of each part (pr_fused_item_weights) says which modality drives the item.
 * Training keeps the best epoch's snapshot but goes on training, so the
 * weights must be taken when that snapshot is taken, not after training.
 * This wrapper does so: it behaves as the inner model in every way, and each
 * snapshot also records the weights (n_items, 1 + n_mod) of every item, keyed
 * by the checksum of the snapshot's U (U, unlike V, is never altered by the
 * cold-item placement of models/mapper.h, so the key survives an outer
 * wrapper). pr_partw_model_best finds the entry of the kept snapshot.
 * Cost per validation: one fused pass over the catalogue (the same as the
 * snapshot itself) and n_items (1 + n_mod) floats of history, capped at
 * 64 MiB (older entries dropped first). */
#ifndef PR_MODELS_PARTWTS_H
#define PR_MODELS_PARTWTS_H

#include "core/err.h"
#include "models/model.h"

/* Wrap inner when it is a fused model (takes ownership of inner, also on
 * error); otherwise *out = inner and nothing changes (returns 0). */
int pr_partw_model_new(pr_model *inner, pr_model **out, pr_error *err);
/* Items without training interactions ("cold") get their row of V from the
 * item tower when an outer wrapper places them (pr_tower_model_new): then
 * their weights must be the tower's too (weights() from their content, the
 * ID part 0), not those of an ID embedding training never touched. Call
 * with on = 1 in that case; the default (0) records the fused weights. */
void pr_partw_model_cold_by_tower(pr_model *m, int on);
/* 1 when m is such a wrapper. */
int pr_partw_model_is(const pr_model *m);
/* The weights recorded with the snapshot `best`: *wts (best->n_items,
 * *n_parts) owned by the caller, names[0] = "id", names[1 + m] modality m.
 * PR_E_NOTFOUND when that snapshot's weights are not known. */
int pr_partw_model_best(const pr_model *m, const pr_snapshot *best, float **wts, int *n_parts,
                        char names[][32], pr_error *err);

#endif
