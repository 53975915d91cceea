/* cli/main.c: `polyrec COMMAND [flags]`. The only place that prints errors
 * and chooses the exit status: 0 success, 1 error, 2 usage error. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/err.h"
#include "core/mat.h"

static const struct {
    const char *name;
    int (*run)(int, char **, pr_error *);
    const char *help;
} commands[] = {
    {"fit", cmd_fit, "train a model, report validation and test metrics, save it"},
    {"eval", cmd_eval, "full-ranking evaluation of a saved model on a dataset"},
    {"recommend", cmd_recommend, "top items for a user, or for a history of items (new user, session)"},
    {"similar", cmd_similar, "items most similar to an item"},
    {"add-item", cmd_add_item, "add a new item to a model from its content (image, text, audio, vectors)"},
    {"explain", cmd_explain, "why an item is recommended to a user or a history"},
    {"encode", cmd_encode, "turn item images, texts or audio into feature vectors"},
    {"info", cmd_info, "what a model file holds"},
    {"models", cmd_models, "list the models that can be trained"},
};

static void usage(FILE *f) {
    fprintf(f, "polyrec: a multimodal recommender engine\n\nusage: polyrec COMMAND [flags]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`polyrec COMMAND --help` shows a command's flags.\n");
}

int main(int argc, char **argv) {
    pr_blas_select_kernels(argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* polyrec threads its own work on one pool; BLAS threads spinning beside it
     * only steal the cores (each pool thread calls BLAS single-threaded). */
    pr_blas_threads(1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        pr_error err = {0};
        int rc = commands[i].run(argc - 2, argv + 2, &err);
        if (rc == 0) return 0;
        fprintf(stderr, "polyrec %s: %s\n", argv[1], err.msg[0] ? err.msg : pr_err_name(rc));
        return rc == PR_E_ARG ? 2 : 1;
    }
    fprintf(stderr, "polyrec: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
