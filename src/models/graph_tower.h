/* models/graph_tower.h: the item tower shared by the content graph models
 * (FREEDOM, LATTICE, MMGCN).
 *
 * A graph model has no function from content to an item vector: items get
 * their vectors from the graph. A new item enters the item-item graph as the
 * models build it, by its k nearest training items in each modality, and
 * takes the weighted mean of those items' rows of a table the model chooses
 * (features/knn_graph.h, pr_knn_tower). The tower section of the model file
 * holds the training items' unit feature rows and that table: O(n_items
 * (sum of dims + d)) floats. */
#ifndef PR_MODELS_GRAPH_TOWER_H
#define PR_MODELS_GRAPH_TOWER_H

#include "core/buf.h"
#include "models/model.h"

/* Write the tower of m: m->feat's modalities (names, dims, rows of the items
 * with training interactions as candidates), T (n_items, d) borrowed,
 * modality weights w (n_mod), k, the weighting (sim_weighted) and l2_out
 * (see pr_knn_tower). */
int pr_graph_tower_save(const pr_model *m, const float *T, int d, const float *w, int k, int sim_weighted,
                        int l2_out, pr_buf *b);

/* pr_tower_ops members for the models' tower tables. */
int pr_graph_tower_load(pr_tower **out, pr_cur *c, pr_error *err);
int pr_graph_tower_encode(const pr_tower *t, const float *const *x, float *v, float *bias, pr_error *err);
void pr_graph_tower_free(pr_tower *t);

#endif
