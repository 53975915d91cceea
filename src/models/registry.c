/* models/registry.c: every model, by name. A new model is one file in
 * models/ and one line here. */
#include <string.h>

#include "models/model.h"

extern const pr_model_ops pr_mostpop_ops, pr_itemknn_ops, pr_bprmf_ops;

static const pr_model_ops *const registry[] = {
    &pr_mostpop_ops,
    &pr_itemknn_ops,
    &pr_bprmf_ops,
    NULL,
};

const pr_model_ops *pr_model_find(const char *name) {
    for (int i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

const pr_model_ops *const *pr_model_list(void) { return registry; }
