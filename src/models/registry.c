/* models/registry.c: every model, by name. A new model is one file in
 * models/ and one line here (and one line in towers when it has an item tower). */
#include <string.h>

#include "models/model.h"

extern const pr_model_ops pr_mostpop_ops, pr_itemknn_ops, pr_bprmf_ops, pr_contentknn_ops;
extern const pr_model_ops pr_lightgcn_ops, pr_freedom_ops, pr_lattice_ops, pr_mmgcn_ops;
extern const pr_model_ops pr_vbpr_ops, pr_concat_ops, pr_attention_ops;
extern const pr_tower_ops pr_vbpr_tower_ops, pr_concat_tower_ops, pr_attention_tower_ops;
extern const pr_tower_ops pr_freedom_tower_ops, pr_lattice_tower_ops, pr_mmgcn_tower_ops;
extern const pr_tower_ops pr_mapper_tower_ops, pr_contentknn_tower_ops;
extern const pr_model_ops pr_metricknn_ops;
extern const pr_tower_ops pr_metricknn_tower_ops;

static const pr_model_ops *const registry[] = {
    &pr_mostpop_ops,
    &pr_itemknn_ops,
    &pr_bprmf_ops,
    &pr_contentknn_ops,
    &pr_lightgcn_ops,
    &pr_freedom_ops,
    &pr_lattice_ops,
    &pr_vbpr_ops,
    &pr_concat_ops,
    &pr_attention_ops,
    &pr_mmgcn_ops,
    &pr_metricknn_ops,
    NULL,
};

const pr_model_ops *pr_model_find(const char *name) {
    for (int i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

const pr_model_ops *const *pr_model_list(void) { return registry; }

/* Towers of content models, by model name. */
static const pr_tower_ops *const towers[] = {
    &pr_vbpr_tower_ops,
    &pr_concat_tower_ops,
    &pr_attention_tower_ops,
    &pr_freedom_tower_ops,
    &pr_lattice_tower_ops,
    &pr_mmgcn_tower_ops,
    &pr_mapper_tower_ops, /* models/mapper.c: content -> V row for any model */
    &pr_contentknn_tower_ops,
    &pr_metricknn_tower_ops,
    NULL,
};

const pr_tower_ops *pr_tower_find(const char *name) {
    for (int i = 0; towers[i]; i++)
        if (strcmp(towers[i]->name, name) == 0) return towers[i];
    return NULL;
}

int pr_model_new(const pr_model_ops *ops, const pr_dataset *d, const pr_features *f,
                 const pr_config *c, pr_pool *pool, pr_model **out, pr_error *err) {
    if (ops->needs_features && (!f || f->n_mod == 0))
        return pr_err(err, PR_E_ARG, "%s needs item features (--features or --items)", ops->name);
    int rc = ops->init(out, d, f, c, pool, err);
    if (rc == 0) {
        (*out)->ops = ops;
        (*out)->feat = f;
    }
    return rc;
}
