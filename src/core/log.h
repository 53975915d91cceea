/* core/log.h: messages and progress on stderr.
 *
 * Library code reports through these so the CLI can silence it (--quiet).
 * A progress line redraws itself in place when stderr is a terminal and
 * prints a plain line (at most every few seconds) otherwise, so logs stay
 * readable in CI. */
#ifndef PR_CORE_LOG_H
#define PR_CORE_LOG_H

#include <stdint.h>

enum { PR_LOG_QUIET = 0, PR_LOG_INFO = 1, PR_LOG_DEBUG = 2 };

void pr_log_set_level(int level);
int pr_log_level(void);
void pr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* info */
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* debug */

/* Monotonic seconds since an arbitrary origin. */
double pr_now(void);
/* Peak resident memory of this process in MiB (from getrusage). */
double pr_peak_rss_mib(void);

typedef struct pr_progress {
    const char *label;
    int64_t total, done;
    double t0, last;
    int tty;
} pr_progress;

void pr_progress_init(pr_progress *p, const char *label, int64_t total);
/* Report that `done` of `total` units are finished; cheap enough to call often. */
void pr_progress_update(pr_progress *p, int64_t done);
void pr_progress_end(pr_progress *p);

#endif
