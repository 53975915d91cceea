/* tests/cli/test_cli.c: the polyrec command end to end (binary from $POLYREC,
 * default build/polyrec): flags, errors, fit -> eval -> recommend -> info. */
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"

static char out[1 << 16];

/* Run a shell command, capture stdout+stderr into out; return the exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
    char cmd[4096], full[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    const char *bin = getenv("POLYREC") ? getenv("POLYREC") : "build/polyrec";
    snprintf(full, sizeof full, "%s %s 2>&1", bin, cmd);
    FILE *p = popen(full, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* value of "key": number in a JSON text (first occurrence after `after`) */
static double json_num(const char *text, const char *after, const char *key) {
    const char *p = after ? strstr(text, after) : text;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    p = p ? strstr(p, pat) : NULL;
    return p ? atof(p + strlen(pat)) : NAN;
}

TEST(test_usage_and_flag_errors) {
    CHECK_EQ_INT(run(" "), 2);
    CHECK_CONTAINS(out, "usage: polyrec COMMAND");
    CHECK_EQ_INT(run("frobnicate"), 2);
    CHECK_CONTAINS(out, "unknown command 'frobnicate'");
    CHECK_EQ_INT(run("fit --help"), 0);
    CHECK_CONTAINS(out, "--min-rating");
    CHECK_EQ_INT(run("fit --data x.csv --model bprmf --out m --bogus 1"), 2);
    CHECK_CONTAINS(out, "unknown flag '--bogus'");
    CHECK_EQ_INT(run("fit --data"), 2);
    CHECK_CONTAINS(out, "--data needs a value");
    CHECK_EQ_INT(run("fit --data x.csv --out m"), 2);
    CHECK_CONTAINS(out, "--model NAME is required");
    CHECK_EQ_INT(run("fit --data x.csv --model nosuch --out m"), 1);
    CHECK_CONTAINS(out, "no model named 'nosuch'");
    CHECK_EQ_INT(run("fit --data x.csv --model bprmf --out m --lr abc"), 2);
    CHECK_CONTAINS(out, "--lr");
    CHECK_EQ_INT(run("fit --data x.csv --model bprmf --out m --split sideways"), 2);
    CHECK_EQ_INT(run("models"), 0);
    CHECK_CONTAINS(out, "bprmf");
}

TEST(test_bad_input_names_file_and_line) {
    write_file("build/cli_bad.csv", "user,item,rating\nu1,i1,5\nu2,i2,x4\n");
    CHECK_EQ_INT(run("fit --data build/cli_bad.csv --model mostpop --out build/cli_bad.model"), 1);
    CHECK_CONTAINS(out, "build/cli_bad.csv:3");
    CHECK_CONTAINS(out, "rating");
    CHECK(access("build/cli_bad.model", F_OK) != 0); /* nothing written */
    CHECK_EQ_INT(run("fit --data build/no-such.csv --model mostpop --out build/x.model"), 1);
    CHECK_CONTAINS(out, "build/no-such.csv");
    write_file("build/cli_bad.model", "not a model");
    CHECK_EQ_INT(run("info --model build/cli_bad.model"), 1);
    CHECK_CONTAINS(out, "not a polyrec model file");
    unlink("build/cli_bad.csv");
    unlink("build/cli_bad.model");
}

TEST(test_fit_eval_recommend_round_trip) {
    const char *data = "data/ml-latest-small/ratings.csv";
    if (access(data, R_OK) != 0) T_SKIP("embedded MovieLens data missing");
    const char *flags = "--data data/ml-latest-small/ratings.csv --min-rating 4 --kcore 5";
    CHECK_EQ_INT(run("fit %s --model bprmf --epochs 10 --lr 0.01 --threads 2 --json --quiet --out build/cli.model", flags), 0);
    double fit_r = json_num(out, "\"test\"", "recall@20"), fit_n = json_num(out, "\"test\"", "ndcg@20");
    CHECK(fit_r > 0.15 && fit_r < 1.0); /* MostPop gets 0.16, trained BPR-MF 0.24 */
    CHECK_EQ_INT(json_num(out, NULL, "best_epoch") >= 1, 1);
    CHECK_EQ_INT(run("eval --model build/cli.model %s --json --quiet", flags), 0);
    CHECK_NEAR(json_num(out, NULL, "recall@20"), fit_r, 1e-6);
    CHECK_NEAR(json_num(out, NULL, "ndcg@20"), fit_n, 1e-6);
    CHECK_EQ_INT(run("recommend --model build/cli.model --user 1 --k 3 --json"), 0);
    CHECK_CONTAINS(out, "\"user\": \"1\", \"items\": [{\"item\": ");
    CHECK_EQ_INT(run("recommend --model build/cli.model --user nobody"), 1);
    CHECK_CONTAINS(out, "'nobody' is not a user");
    CHECK_EQ_INT(run("similar --model build/cli.model --item 1 --k 2"), 0);
    CHECK_CONTAINS(out, "rank");
    CHECK_EQ_INT(run("info --model build/cli.model"), 0);
    CHECK_CONTAINS(out, "model=bprmf");
    CHECK_CONTAINS(out, "checksums ok");
    unlink("build/cli.model");
}

int main(void) {
    RUN(test_usage_and_flag_errors);
    RUN(test_bad_input_names_file_and_line);
    RUN(test_fit_eval_recommend_round_trip);
    return t_done();
}
