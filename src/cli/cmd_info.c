/* cli/cmd_info.c: `polyrec info` (what a model file holds) and
 * `polyrec models` (what can be trained). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "models/modelfile.h"

static const pr_flag info_flags[] = {
    {"model", "MODEL", "model file", 0},
    {NULL, NULL, NULL, 0},
};

int cmd_info(int argc, char **argv, pr_error *err) {
    pr_args a;
    int rc = pr_args_parse(&a, info_flags, argc, argv, err);
    if (rc) return rc;
    if (a.help) {
        pr_args_usage("info", "--model MODEL", info_flags);
        return 0;
    }
    const char *path = pr_args_get(&a, "model", NULL);
    if (!path) return pr_err(err, PR_E_ARG, "--model MODEL is required");
    pr_recsys r;
    if ((rc = pr_recsys_open(&r, path, err))) return rc;
    printf("file: %s (%zu bytes, %u sections, checksums ok)\n", path, r.file.map.size, r.file.n);
    printf("users: %d  items: %d  training interactions: %lld\n", r.n_users, r.n_items, (long long)r.train->nnz);
    if (r.U) printf("snapshot: d=%d%s\n", r.d, r.b ? " with item biases" : "");
    if (r.knn) printf("item-item similarities: %lld\n", (long long)r.knn->nnz);
    printf("%s", r.meta);
    pr_recsys_close(&r);
    return 0;
}

int cmd_models(int argc, char **argv, pr_error *err) {
    const pr_model_ops *const *list = pr_model_list();
    for (int i = 0; list[i]; i++) printf("  %-10s %s\n", list[i]->name, list[i]->help);
    return 0;
}
