/* core/log.c: stderr logging and progress (see log.h). */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int g_level = PR_LOG_INFO;

void pr_log_set_level(int level) { g_level = level; }
int pr_log_level(void) { return g_level; }

void pr_log(const char *fmt, ...) {
    if (g_level < PR_LOG_INFO) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void pr_debug(const char *fmt, ...) {
    if (g_level < PR_LOG_DEBUG) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

double pr_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double pr_peak_rss_mib(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

void pr_progress_init(pr_progress *p, const char *label, int64_t total) {
    p->label = label;
    p->total = total;
    p->done = 0;
    p->t0 = p->last = pr_now();
    p->tty = isatty(STDERR_FILENO);
}

static void progress_draw(pr_progress *p, double now, int final) {
    double el = now - p->t0, rate = el > 0 ? (double)p->done / el : 0.0;
    double pct = p->total > 0 ? 100.0 * (double)p->done / (double)p->total : 100.0;
    if (p->tty) {
        int width = 30, fill = (int)(pct / 100.0 * width);
        fprintf(stderr, "\r%s [", p->label);
        for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
        fprintf(stderr, "] %5.1f%% %lld/%lld %.0f/s%s", pct, (long long)p->done,
                (long long)p->total, rate, final ? "\n" : "");
    } else {
        fprintf(stderr, "%s: %lld/%lld (%.1f%%) %.0f/s %.1fs\n", p->label, (long long)p->done,
                (long long)p->total, pct, rate, el);
    }
    fflush(stderr);
}

void pr_progress_update(pr_progress *p, int64_t done) {
    p->done = done;
    if (g_level < PR_LOG_INFO) return;
    double now = pr_now();
    double every = p->tty ? 0.2 : 5.0;
    if (now - p->last < every) return;
    p->last = now;
    progress_draw(p, now, 0);
}

void pr_progress_end(pr_progress *p) {
    if (g_level < PR_LOG_INFO) return;
    double now = pr_now();
    /* short jobs finish silently in logs; a terminal always gets the closing bar */
    if (p->tty || now - p->t0 >= 5.0) progress_draw(p, now, 1);
}
