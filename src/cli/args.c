/* cli/args.c: flag parsing (see args.h). */
#include "args.h"

#include <stdio.h>
#include <string.h>

static const pr_flag *find_flag(const pr_flag *flags, const char *name, size_t len) {
    for (int i = 0; flags[i].name; i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) return &flags[i];
    return NULL;
}

int pr_args_parse(pr_args *a, const pr_flag *flags, int argc, char **argv, pr_error *err) {
    memset(a, 0, sizeof *a);
    a->flags = flags;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            a->help = 1;
            continue;
        }
        if (strncmp(s, "--", 2) != 0)
            return pr_err(err, PR_E_ARG, "unexpected argument '%s' (flags start with --)", s);
        const char *name = s + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const pr_flag *f = find_flag(flags, name, len);
        if (!f) return pr_err(err, PR_E_ARG, "unknown flag '--%.*s' (see --help)", (int)len, name);
        const char *val = NULL;
        if (f->value) {
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else return pr_err(err, PR_E_ARG, "flag --%s needs a value (%s)", f->name, f->value);
        } else if (eq) {
            return pr_err(err, PR_E_ARG, "flag --%s takes no value", f->name);
        }
        if (!f->repeat)
            for (int k = 0; k < a->n; k++)
                if (a->got[k].flag == f) return pr_err(err, PR_E_ARG, "flag --%s given twice", f->name);
        if (a->n >= PR_ARGS_MAX) return pr_err(err, PR_E_ARG, "too many flags");
        a->got[a->n].flag = f;
        a->got[a->n].value = val ? val : "";
        a->n++;
    }
    return 0;
}

const char *pr_args_get(const pr_args *a, const char *name, const char *dflt) {
    for (int k = a->n - 1; k >= 0; k--)
        if (!strcmp(a->got[k].flag->name, name)) return a->got[k].value;
    return dflt;
}

int pr_args_has(const pr_args *a, const char *name) { return pr_args_get(a, name, NULL) != NULL; }

const char *pr_args_nth(const pr_args *a, const char *name, int i) {
    for (int k = 0; k < a->n; k++)
        if (!strcmp(a->got[k].flag->name, name) && i-- == 0) return a->got[k].value;
    return NULL;
}

void pr_args_usage(const char *cmd, const char *synopsis, const pr_flag *flags) {
    printf("usage: polyrec %s %s\n\nflags:\n", cmd, synopsis);
    for (int i = 0; flags[i].name; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", flags[i].name, flags[i].value ? " " : "",
                 flags[i].value ? flags[i].value : "");
        printf("  %-24s %s%s\n", left, flags[i].help, flags[i].repeat ? " (repeatable)" : "");
    }
    printf("  %-24s %s\n", "--help", "show this help");
}
