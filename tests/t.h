/* tests/t.h: the test harness. Each tests/<module>/test_*.c is one program:
 *
 *   TEST(test_name) { CHECK(x); CHECK_EQ_INT(a, b); CHECK_NEAR(x, y, 1e-6); }
 *   int main(void) { RUN(test_name); return t_done(); }
 *
 * A test passes when none of its checks failed; a failed check prints both
 * values with file:line and the test goes on. T_SKIP(reason) ends a test as
 * skipped (for data that is absent). t_done() prints "N passed, N failed,
 * N skipped" and returns non-zero on any failure. */
#ifndef PR_TESTS_T_H
#define PR_TESTS_T_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed, t_skipped, t_cur_failed, t_cur_skipped;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
            t_cur_failed++;                                                               \
        }                                                                                 \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                \
    do {                                                                                  \
        long long t_a = (long long)(a), t_b = (long long)(b);                             \
        if (t_a != t_b) {                                                                 \
            fprintf(stderr, "  FAIL %s:%d: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, \
                    #a, #b, t_a, t_b);                                                    \
            t_cur_failed++;                                                               \
        }                                                                                 \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                             \
    do {                                                                                  \
        double t_a = (double)(a), t_b = (double)(b);                                      \
        if (!(fabs(t_a - t_b) <= (tol))) {                                                \
            fprintf(stderr, "  FAIL %s:%d: %s ~ %s (%.9g vs %.9g, tol %g)\n", __FILE__,    \
                    __LINE__, #a, #b, t_a, t_b, (double)(tol));                           \
            t_cur_failed++;                                                               \
        }                                                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *t_a = (a), *t_b = (b);                                                \
        if (!t_a || !t_b || strcmp(t_a, t_b) != 0) {                                      \
            fprintf(stderr, "  FAIL %s:%d: %s == %s (\"%s\" vs \"%s\")\n", __FILE__,       \
                    __LINE__, #a, #b, t_a ? t_a : "(null)", t_b ? t_b : "(null)");        \
            t_cur_failed++;                                                               \
        }                                                                                 \
    } while (0)

/* substring check, for error messages that must name the file, line or field */
#define CHECK_CONTAINS(hay, needle)                                                       \
    do {                                                                                  \
        const char *t_h = (hay), *t_n = (needle);                                         \
        if (!t_h || !strstr(t_h, t_n)) {                                                  \
            fprintf(stderr, "  FAIL %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,    \
                    __LINE__, t_h ? t_h : "(null)", t_n);                                 \
            t_cur_failed++;                                                               \
        }                                                                                 \
    } while (0)

#define T_SKIP(reason)                                                                    \
    do {                                                                                  \
        fprintf(stderr, "  skip: %s\n", reason);                                          \
        t_cur_skipped = 1;                                                                \
        return;                                                                           \
    } while (0)

#define RUN(name) t_run(#name, name)

static inline void t_run(const char *name, void (*fn)(void)) {
    t_cur_failed = t_cur_skipped = 0;
    fn();
    if (t_cur_failed) {
        t_failed++;
        fprintf(stderr, "FAIL %s\n", name);
    } else if (t_cur_skipped) {
        t_skipped++;
        fprintf(stderr, "skip %s\n", name);
    } else {
        t_passed++;
        fprintf(stderr, "ok   %s\n", name);
    }
}

static inline int t_done(void) {
    printf("%d passed, %d failed, %d skipped\n", t_passed, t_failed, t_skipped);
    return t_failed ? 1 : 0;
}

/* Path of a file under ../shared/data, or NULL when the folder is absent.
 * Tests run from the project root. */
static inline const char *t_shared(const char *rel, char *buf, size_t n) {
    const char *root = getenv("POLYREC_SHARED_DATA");
    snprintf(buf, n, "%s/%s", root ? root : "../shared/data", rel);
    FILE *f = fopen(buf, "rb");
    if (!f) return NULL;
    fclose(f);
    return buf;
}

/* Sanitized builds run slower: tests may shrink their workloads. */
static inline int t_sanitized(void) { return getenv("PR_SANITIZED") != NULL; }

#endif
