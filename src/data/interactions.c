/* data/interactions.c: reading interaction files into pr_interactions.
 *
 * One reader for every delimited layout we meet in recommender data:
 *   - TSV / CSV / ';' / '|' / space-separated text, with or without a header;
 *     RFC-4180 quoting (delimiters, quotes and newlines inside "...", ""
 *     escapes), CRLF endings, a UTF-8 byte-order mark, blank lines ignored;
 *   - MovieLens: ratings.csv (userId,movieId,rating,timestamp), ml-100k u.data
 *     (tab, no header) and ml-1m ratings.dat ("::");
 *   - MMRec / RecBole `.inter` (userID itemID rating timestamp x_label, names
 *     may carry ":token" / ":float" type suffixes), x_label 0/1/2 filling
 *     pr_interactions.label.
 * Detection: the delimiter is the candidate seen most often (outside quotes) on
 * the first non-blank line; that line is a header when any field names a known
 * column (user/item/rating/timestamp/x_label synonyms) or when the rating or
 * timestamp position holds text that is not a number. Columns are chosen by
 * header name, else by position user,item[,rating[,timestamp[,x_label]]].
 *
 * Speed: the file is mapped whole (pr_map_open) and each record is split by a
 * hand-written scanner into (pointer, length) fields; numbers are parsed in
 * place with a fast decimal path (strtod only for exotic forms). Rows are
 * appended to arrays that double when full (a few reallocs per file, none per
 * row). Cost: one pass over the bytes plus one hash probe per id (the user's
 * is skipped when it repeats the previous row's, as in user-sorted files).
 *
 * Invariants: a line that fails is either an error naming PATH:LINE and the
 * field, or (skip_bad) skipped and counted; a skipped line adds no id. Limits:
 * ids up to PR_ID_MAX_LEN bytes, PR_ID_MAX_COUNT ids per map, |rating| <=
 * PR_RATING_MAX, integer timestamps. */
#include "dataset.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"

/* ---- the set ------------------------------------------------------------- */

pr_interactions *pr_interactions_new(void) {
    pr_interactions *x = pr_calloc(1, sizeof *x);
    if (!x) return NULL;
    x->users = pr_idmap_new();
    x->items = pr_idmap_new();
    if (!x->users || !x->items) {
        pr_interactions_free(x);
        return NULL;
    }
    return x;
}

void pr_interactions_free(pr_interactions *x) {
    if (!x) return;
    free(x->user);
    free(x->item);
    free(x->rating);
    free(x->ts);
    free(x->label);
    pr_idmap_free(x->users);
    pr_idmap_free(x->items);
    free(x);
}

/* Grow (or create, filling existing rows with `fill`) one optional array. */
static int grow_array(void **a, int64_t n, int64_t cap, size_t size, int create, const void *fill) {
    if (!*a && !create) return 0;
    int fresh = *a == NULL;
    void *p = pr_realloc(*a, (size_t)cap, size);
    if (!p) return PR_E_NOMEM;
    *a = p;
    if (fresh)
        for (int64_t k = 0; k < n; k++) memcpy((char *)p + k * (int64_t)size, fill, size);
    return 0;
}

int pr_interactions_reserve(pr_interactions *x, int64_t cap, int with_rating, int with_ts,
                            int with_label) {
    static const float one = 1.0f;
    static const int64_t zero = 0;
    static const int8_t train = PR_LABEL_TRAIN;
    if (cap < x->cap) cap = x->cap;
    if (cap < 1) cap = 1;
    int grow = cap > x->cap || !x->user, rc = 0;
    /* x->cap changes only when every array has the new size */
    if ((grow && ((rc = grow_array((void **)&x->user, x->n, cap, sizeof *x->user, 1, &zero)) ||
                  (rc = grow_array((void **)&x->item, x->n, cap, sizeof *x->item, 1, &zero)))) ||
        ((grow || (with_rating && !x->rating)) &&
         (rc = grow_array((void **)&x->rating, x->n, cap, sizeof *x->rating, with_rating, &one))) ||
        ((grow || (with_ts && !x->ts)) &&
         (rc = grow_array((void **)&x->ts, x->n, cap, sizeof *x->ts, with_ts, &zero))) ||
        ((grow || (with_label && !x->label)) &&
         (rc = grow_array((void **)&x->label, x->n, cap, sizeof *x->label, with_label, &train))))
        return rc;
    x->cap = cap;
    return 0;
}

static int idmap_error(pr_error *err, int32_t code, const char *what, const char *field) {
    if (code == PR_E_NOMEM) return pr_err(err, PR_E_NOMEM, "%s: out of memory", what);
    if (code == PR_E_PARSE) return pr_err(err, PR_E_PARSE, "%s: field '%s': id contains a NUL byte", what, field);
    return pr_err(err, PR_E_RANGE, "%s: field '%s': id longer than %d bytes or more than %d ids",
                  what, field, PR_ID_MAX_LEN, PR_ID_MAX_COUNT);
}

int pr_interactions_push(pr_interactions *x, const char *user, const char *item, float rating,
                         int64_t ts, int label, pr_error *err) {
    if (x->n == x->cap) {
        int rc = pr_interactions_reserve(x, x->cap ? x->cap * 2 : 64, 0, 0, 0);
        if (rc) return pr_err(err, rc, "interactions: out of memory");
    }
    if (label < PR_LABEL_NONE || label > PR_LABEL_TEST)
        return pr_err(err, PR_E_ARG, "interactions: label %d is not -1, 0, 1 or 2", label);
    int32_t u = pr_idmap_add(x->users, user, strlen(user));
    if (u < 0) return idmap_error(err, u, "interactions", "user");
    int32_t i = pr_idmap_add(x->items, item, strlen(item));
    if (i < 0) return idmap_error(err, i, "interactions", "item");
    x->user[x->n] = u;
    x->item[x->n] = i;
    if (x->rating) x->rating[x->n] = rating;
    if (x->ts) x->ts[x->n] = ts;
    if (x->label) x->label[x->n] = (int8_t)label;
    x->n++;
    return 0;
}

int pr_format_parse(const char *name) {
    static const char *names[] = {"auto", "tsv", "csv", "movielens", "mmrec"};
    for (int k = 0; k < 5; k++)
        if (strcmp(name, names[k]) == 0) return k;
    if (strcmp(name, "inter") == 0) return PR_FMT_MMREC;
    return -1;
}

const char *pr_format_name(int fmt) {
    static const char *names[] = {"auto", "tsv", "csv", "movielens", "mmrec"};
    return fmt >= 0 && fmt <= PR_FMT_MMREC ? names[fmt] : "unknown";
}

/* ---- scanning records ---------------------------------------------------- */

enum { COL_USER, COL_ITEM, COL_RATING, COL_TS, COL_LABEL, N_ROLES };
static const char *const role_name[N_ROLES] = {"user", "item", "rating", "timestamp", "x_label"};

#define MAX_FIELDS 64 /* fields kept per record; later ones are scanned and dropped */

typedef struct field {
    const char *p;
    size_t n;
    int esc; /* quoted with "" escapes inside: unescape before use */
} field;

typedef struct scanner {
    const char *path;
    const char *p, *end;
    int64_t line;     /* line number at p (1-based) */
    char delim;       /* ':' stands for "::" */
} scanner;

typedef struct record {
    field f[MAX_FIELDS];
    int nf;           /* fields in the record (may exceed MAX_FIELDS) */
    int64_t line;     /* line where the record starts */
    const char *bad;  /* NULL, or why the record is malformed (quotes) */
} record;

static int64_t count_nl(const char *p, const char *end) {
    int64_t n = 0;
    for (; p < end; p++) n += *p == '\n'; /* vectorises; memchr per short line does not */
    return n;
}

/* At a delimiter? Returns its length (0 when not). */
static inline int at_delim(const scanner *S, const char *s) {
    if (S->delim == ':') return s + 1 < S->end && s[0] == ':' && s[1] == ':' ? 2 : 0;
    return *s == S->delim;
}

static void trim(field *f, char delim) {
    while (f->n && (f->p[0] == ' ' || (f->p[0] == '\t' && delim != '\t'))) f->p++, f->n--;
    while (f->n && (f->p[f->n - 1] == ' ' || f->p[f->n - 1] == '\r' ||
                    (f->p[f->n - 1] == '\t' && delim != '\t')))
        f->n--;
}

/* Split the record at S->p into r, advancing past its line end. Returns 0 at
 * the end of the input, 1 otherwise (r->bad set when the quotes are broken). */
static int next_record(scanner *S, record *r) {
    if (S->p >= S->end) return 0;
    r->nf = 0;
    r->line = S->line;
    r->bad = NULL;
    const char *s = S->p, *end = S->end;
    if (S->delim == ' ')
        while (s < end && *s == ' ') s++;
    for (;;) {
        const char *t = s; /* spaces before an opening quote ("a, "b, c"") */
        while (t < end && (*t == ' ' || (*t == '\t' && S->delim != '\t')) && !at_delim(S, t)) t++;
        if (t < end && *t == '"') s = t;
        field f = {s, 0, 0};
        if (s < end && *s == '"') { /* quoted: runs to the next lone quote */
            const char *q = s + 1;
            for (;;) {
                q = memchr(q, '"', (size_t)(end - q));
                if (!q || q + 1 >= end || q[1] != '"') break;
                f.esc = 1;
                q += 2;
            }
            if (!q) {
                /* the quote never closes: the bad record is this line alone, so
                 * skip_bad loses one line, not the rest of the file */
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                r->bad = "unterminated quoted field";
                r->nf++;
                S->p = nl ? nl + 1 : end;
                S->line += nl != NULL;
                return 1;
            }
            S->line += count_nl(s, q);
            f.p = s + 1;
            f.n = (size_t)(q - s - 1);
            s = q + 1;
            while (s < end && (*s == ' ' || *s == '\r' || (*s == '\t' && S->delim != '\t')) &&
                   !at_delim(S, s))
                s++;
            if (s < end && *s != '\n' && !at_delim(S, s) && !r->bad) r->bad = "text after a closing quote";
        } else {
            if (S->delim == ':') {
                while (s < end && *s != '\n' && !at_delim(S, s)) s++;
            } else {
                const char d = S->delim;
                while (s < end && *s != '\n' && *s != d) s++;
            }
            f.n = (size_t)(s - f.p);
            trim(&f, S->delim);
        }
        if (r->bad && s < end && *s != '\n') { /* skip the rest of a broken line */
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            s = nl ? nl : end;
        }
        if (r->nf < MAX_FIELDS) r->f[r->nf] = f;
        r->nf++;
        int d = s < end ? at_delim(S, s) : 0;
        if (!d) break;
        s += d;
        if (S->delim == ' ') {
            while (s < end && *s == ' ') s++;
            if (s >= end || *s == '\n' || *s == '\r') { /* trailing spaces */
                while (s < end && *s == '\r') s++;
                break;
            }
        }
    }
    if (s < end && *s == '\n') s++, S->line++;
    S->p = s;
    return 1;
}

static int record_blank(const record *r) { return r->nf == 1 && r->f[0].n == 0 && !r->bad; }

/* Copy a field into buf (cap bytes, NUL-terminated), undoing "" escapes.
 * Returns the length, or -1 when it does not fit. */
static long field_text(const field *f, char *buf, size_t cap) {
    size_t w = 0;
    for (size_t k = 0; k < f->n; k++) {
        if (w + 1 >= cap) {
            buf[w] = '\0';
            return -1;
        }
        buf[w++] = f->p[k];
        if (f->esc && f->p[k] == '"' && k + 1 < f->n && f->p[k + 1] == '"') k++;
    }
    buf[w] = '\0';
    return (long)w;
}

/* ---- numbers ------------------------------------------------------------- */

/* Decimal number; 1 on success. Fast path for [-+]digits[.digits]. */
static int parse_double(const char *s, size_t n, double *out) {
    size_t k = 0;
    int neg = 0;
    if (k < n && (s[k] == '-' || s[k] == '+')) neg = s[k++] == '-';
    uint64_t mant = 0;
    int digits = 0, frac = 0, dot = 0;
    for (; k < n; k++) {
        char c = s[k];
        if (c >= '0' && c <= '9') {
            if (digits >= 18) break;
            mant = mant * 10 + (uint64_t)(c - '0');
            digits++;
            frac += dot;
        } else if (c == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (k == n && digits > 0) {
        static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                     1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
        double v = (double)mant / p10[frac];
        *out = neg ? -v : v;
        return 1;
    }
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *e;
    double v = strtod(buf, &e);
    if (e != buf + n) return 0;
    *out = v;
    return 1;
}

/* Integer in int64 range; 1 on success. */
static int parse_int64(const char *s, size_t n, int64_t *out) {
    size_t k = 0;
    int neg = 0;
    if (k < n && (s[k] == '-' || s[k] == '+')) neg = s[k++] == '-';
    if (k == n) return 0;
    uint64_t v = 0;
    for (; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') return 0;
        uint64_t d = (uint64_t)(s[k] - '0');
        if (v > (UINT64_C(9223372036854775807) - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 1;
}

/* ---- header and columns -------------------------------------------------- */

/* Lowercase, drop a ":type" suffix (RecBole) and every non-alphanumeric byte. */
static void norm_name(const field *f, char *out, size_t cap) {
    size_t w = 0;
    for (size_t k = 0; k < f->n && f->p[k] != ':' && w + 1 < cap; k++) {
        unsigned char c = (unsigned char)f->p[k];
        if (isalnum(c)) out[w++] = (char)tolower(c);
    }
    out[w] = '\0';
}

static const char *const syn_user[] = {
    "user", "userid", "users", "uid", "useridx", "userindex", "customer", "customerid",
    "reviewerid", "visitorid", "member", "memberid", "viewerid", "raterid", "personid", NULL};
static const char *const syn_item[] = {
    "item", "itemid", "items", "iid", "itemidx", "itemindex", "movie", "movieid", "product",
    "productid", "asin", "business", "businessid", "track", "trackid", "song", "songid", "artist",
    "artistid", "book", "bookid", "isbn", "article", "articleid", "video", "videoid", "recipe",
    "recipeid", "anime", "animeid", "game", "gameid", "poiid", "venueid", "docid", "newsid", NULL};
static const char *const syn_rating[] = {
    "rating", "ratings", "score", "stars", "star", "rate", "value", "weight", "count", "plays",
    "playcount", "preference", "overall", NULL};
static const char *const syn_ts[] = {"timestamp", "ts", "time", "unixtime", "unixreviewtime",
                                     "timestamps", "epoch", "datetime", NULL};
static const char *const syn_label[] = {"xlabel", "split", NULL};
static const char *const *const synonyms[N_ROLES] = {syn_user, syn_item, syn_rating, syn_ts,
                                                     syn_label};

static int name_role(const field *f) {
    char nm[64];
    norm_name(f, nm, sizeof nm);
    for (int r = 0; r < N_ROLES; r++)
        for (const char *const *s = synonyms[r]; *s; s++)
            if (strcmp(nm, *s) == 0) return r;
    return -1;
}

static int is_number(const field *f) {
    double v;
    return f->n > 0 && parse_double(f->p, f->n, &v);
}

static int looks_like_header(const record *r) {
    int n = r->nf < MAX_FIELDS ? r->nf : MAX_FIELDS;
    for (int k = 0; k < n; k++)
        if (name_role(&r->f[k]) >= 0) return 1;
    if (n >= 3 && !is_number(&r->f[2])) return 1;
    if (n >= 4 && !is_number(&r->f[3])) return 1;
    return 0;
}

/* The header's names joined by commas, for messages. */
static const char *header_text(const record *r, char *buf, size_t cap) {
    size_t w = 0;
    buf[0] = '\0';
    for (int k = 0; k < r->nf && k < MAX_FIELDS && w + 8 < cap; k++) {
        size_t n = PR_MIN(r->f[k].n, cap - w - 8);
        if (k) buf[w++] = ',';
        memcpy(buf + w, r->f[k].p, n);
        w += n;
        buf[w] = '\0';
    }
    return buf;
}

/* Which column holds each role (-1 = absent). */
static int resolve_columns(const scanner *S, const record *r, int header, int fmt, int col[N_ROLES],
                           pr_error *err) {
    for (int k = 0; k < N_ROLES; k++) col[k] = -1;
    int n = r->nf < MAX_FIELDS ? r->nf : MAX_FIELDS, named = 0;
    char names[256];
    if (header) {
        for (int k = 0; k < n; k++) {
            int role = name_role(&r->f[k]);
            if (role >= 0 && col[role] < 0) col[role] = k, named++;
        }
        for (int role = COL_USER; named && role <= COL_ITEM; role++)
            if (col[role] < 0)
                return pr_err(err, PR_E_PARSE, "%s:%lld: missing column '%s' (header: %s)", S->path,
                              (long long)r->line, role_name[role], header_text(r, names, sizeof names));
        if (named) return 0;
    }
    /* positional: user, item[, rating[, timestamp[, x_label]]] */
    if (n < 2)
        return pr_err(err, PR_E_PARSE, "%s:%lld: missing column 'item' (only one column; delimiter '%s')",
                      S->path, (long long)r->line,
                      S->delim == '\t' ? "\\t" : S->delim == ':' ? "::" : (char[]){S->delim, 0});
    for (int k = 0; k < n && k < N_ROLES; k++) col[k] = k;
    if (col[COL_LABEL] >= 0 && fmt != PR_FMT_MMREC) col[COL_LABEL] = -1;
    return 0;
}

/* Delimiter seen most often outside quotes on the line at p; tab wins ties,
 * then "::", ',', ';', '|'; space when there is none of those. */
static char detect_delim(const char *p, const char *end) {
    static const char cand[] = {'\t', ':', ',', ';', '|'};
    int64_t cnt[5] = {0}, spaces = 0;
    int inq = 0;
    for (; p < end && (inq || *p != '\n'); p++) {
        if (*p == '"') inq = !inq;
        if (inq) continue;
        if (*p == ' ') spaces++;
        if (*p == ':' && p + 1 < end && p[1] == ':') cnt[1]++, p++;
        for (int k = 0; k < 5; k++)
            if (k != 1 && *p == cand[k]) cnt[k]++;
    }
    int best = -1;
    for (int k = 0; k < 5; k++)
        if (cnt[k] > 0 && (best < 0 || cnt[k] > cnt[best])) best = k;
    if (best >= 0) return cand[best];
    return spaces ? ' ' : ',';
}

static const char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int format_from_name(const char *path) {
    const char *b = base_name(path);
    if (ends_with(b, ".inter")) return PR_FMT_MMREC;
    if (strcmp(b, "u.data") == 0 || strcmp(b, "ratings.dat") == 0 || strcmp(b, "ratings.csv") == 0)
        return PR_FMT_MOVIELENS;
    if (ends_with(b, ".csv")) return PR_FMT_CSV;
    if (ends_with(b, ".tsv") || ends_with(b, ".tab")) return PR_FMT_TSV;
    return PR_FMT_AUTO;
}

/* ---- rows ---------------------------------------------------------------- */

typedef struct reader {
    scanner S;
    int col[N_ROLES];
    int need;                 /* fields a data line must have */
    int64_t max_ids;          /* distinct ids allowed per map */
    const char *last_user;    /* previous row's user id text (files are often */
    size_t last_user_n;       /* sorted by user: one hash probe saved per row) */
    int32_t last_u;
    pr_interactions *x;
    char idbuf[2][PR_ID_MAX_LEN + 2];
} reader;

static int bad_field(const reader *R, const record *r, pr_error *err, int code, int role,
                     const char *why, const field *f) {
    int show = (int)PR_MIN(f->n, (size_t)40);
    return pr_err(err, code, "%s:%lld: field '%s': %s ('%.*s%s')", R->S.path, (long long)r->line,
                  role_name[role], why, show, f->p, f->n > 40 ? "..." : "");
}

/* An id field as text: pointer and length into the file, or into idbuf. */
static int id_field(reader *R, const record *r, int role, const char **s, size_t *n,
                    pr_error *err) {
    const field *f = &r->f[R->col[role]];
    if (f->n == 0) return pr_err(err, PR_E_PARSE, "%s:%lld: field '%s': empty id", R->S.path,
                                 (long long)r->line, role_name[role]);
    if (f->esc) {
        long len = field_text(f, R->idbuf[role], sizeof R->idbuf[role]);
        *s = R->idbuf[role];
        *n = len < 0 ? PR_ID_MAX_LEN + 1 : (size_t)len;
    } else {
        *s = f->p;
        *n = f->n;
    }
    if (*n > PR_ID_MAX_LEN)
        return pr_err(err, PR_E_RANGE, "%s:%lld: field '%s': id longer than %d bytes ('%.20s...')",
                      R->S.path, (long long)r->line, role_name[role], PR_ID_MAX_LEN, *s);
    if (memchr(*s, '\0', *n))
        return pr_err(err, PR_E_PARSE, "%s:%lld: field '%s': id contains a NUL byte", R->S.path,
                      (long long)r->line, role_name[role]);
    return 0;
}

/* Parse one data record into row x->n. *fatal is set for errors that skip_bad
 * must not swallow (id limits, memory). */
static int parse_row(reader *R, const record *r, int *fatal, pr_error *err) {
    pr_interactions *x = R->x;
    *fatal = 0;
    if (r->bad) return pr_err(err, PR_E_PARSE, "%s:%lld: %s", R->S.path, (long long)r->line, r->bad);
    if (r->nf < R->need) {
        int role = 0;
        for (int k = 0; k < N_ROLES; k++)
            if (R->col[k] >= r->nf) { role = k; break; }
        return pr_err(err, PR_E_PARSE, "%s:%lld: field '%s': missing (line has %d field%s, expected %d)",
                      R->S.path, (long long)r->line, role_name[role], r->nf, r->nf == 1 ? "" : "s",
                      R->need);
    }
    const char *us, *is;
    size_t un, in;
    int rc;
    if ((rc = id_field(R, r, COL_USER, &us, &un, err)) || (rc = id_field(R, r, COL_ITEM, &is, &in, err)))
        return rc;
    float rating = 1.0f;
    int64_t ts = 0;
    int8_t label = PR_LABEL_TRAIN;
    if (R->col[COL_RATING] >= 0) {
        const field *f = &r->f[R->col[COL_RATING]];
        double v;
        if (!parse_double(f->p, f->n, &v)) return bad_field(R, r, err, PR_E_PARSE, COL_RATING, "not a number", f);
        if (!isfinite(v)) return bad_field(R, r, err, PR_E_NUMERIC, COL_RATING, "not a finite number", f);
        if (fabs(v) > PR_RATING_MAX)
            return bad_field(R, r, err, PR_E_RANGE, COL_RATING, "absurd rating, |r| > 1e6", f);
        rating = (float)v;
    }
    if (R->col[COL_TS] >= 0) {
        const field *f = &r->f[R->col[COL_TS]];
        if (!parse_int64(f->p, f->n, &ts)) return bad_field(R, r, err, PR_E_PARSE, COL_TS, "not an integer", f);
    }
    if (R->col[COL_LABEL] >= 0) {
        const field *f = &r->f[R->col[COL_LABEL]];
        if (f->n != 1 || f->p[0] < '0' || f->p[0] > '2')
            return bad_field(R, r, err, PR_E_PARSE, COL_LABEL, "not 0, 1 or 2 (train/valid/test)", f);
        label = (int8_t)(f->p[0] - '0');
    }
    int32_t u = R->last_user && un == R->last_user_n && memcmp(us, R->last_user, un) == 0
                    ? R->last_u
                    : pr_idmap_add(x->users, us, un);
    int32_t i = u < 0 ? u : pr_idmap_add(x->items, is, in);
    if (u < 0 || i < 0 || u >= R->max_ids || i >= R->max_ids) {
        *fatal = 1;
        if (u == PR_E_NOMEM || i == PR_E_NOMEM) return pr_err(err, PR_E_NOMEM, "%s: out of memory", R->S.path);
        int bad_user = u < 0 || u >= R->max_ids;
        return pr_err(err, PR_E_RANGE, "%s:%lld: field '%s': more than %lld distinct %ss", R->S.path,
                      (long long)r->line, bad_user ? "user" : "item", (long long)R->max_ids,
                      bad_user ? "user" : "item");
    }
    /* remember the text only where it stays put (the file, not idbuf) */
    R->last_user = us == R->idbuf[COL_USER] ? NULL : us;
    R->last_user_n = un;
    R->last_u = u;
    int64_t k = x->n++;
    x->user[k] = u;
    x->item[k] = i;
    if (x->rating) x->rating[k] = rating;
    if (x->ts) x->ts[k] = ts;
    if (x->label) x->label[k] = label;
    return 0;
}

/* ---- the reader ---------------------------------------------------------- */

static int read_rows(reader *R, const pr_read_opts *o, pr_error *err) {
    record *r = pr_malloc(1, sizeof *r);
    if (!r) return pr_err(err, PR_E_NOMEM, "%s", R->S.path);
    int rc = 0, fatal;
    pr_error local;
    while (next_record(&R->S, r)) {
        if (record_blank(r)) continue;
        if (R->x->n == R->x->cap && pr_interactions_reserve(R->x, R->x->cap * 2, 0, 0, 0)) {
            rc = pr_err(err, PR_E_NOMEM, "%s: %lld rows", R->S.path, (long long)R->x->n);
            break;
        }
        if ((rc = parse_row(R, r, &fatal, o->skip_bad ? &local : err)) == 0) continue;
        if (!o->skip_bad || fatal) {
            if (o->skip_bad) *err = local;
            break;
        }
        R->x->skipped++;
        rc = 0;
    }
    free(r);
    return rc;
}

/* Find the first non-blank record; leaves S just past it, *start at its start. */
static int first_record(scanner *S, record *r, const char **start, int64_t *line) {
    for (;;) {
        *start = S->p;
        *line = S->line;
        if (!next_record(S, r)) return 0;
        if (!record_blank(r)) return 1;
    }
}

int pr_interactions_read(const char *path, const pr_read_opts *o, pr_interactions **out,
                         pr_error *err) {
    static const pr_read_opts defaults = {0};
    if (!o) o = &defaults;
    pr_map m;
    reader *R = NULL;
    record *r = NULL;
    pr_interactions *x = NULL;
    int rc = pr_map_open(&m, path, err);
    if (rc) return rc;
    if (m.size == 0) { rc = pr_err(err, PR_E_PARSE, "%s: empty file", path); goto done; }
    if (!(R = pr_calloc(1, sizeof *R)) || !(r = pr_malloc(1, sizeof *r)) ||
        !(x = pr_interactions_new())) {
        rc = pr_err(err, PR_E_NOMEM, "%s", path);
        goto done;
    }
    const char *data = (const char *)m.data, *end = data + m.size;
    if (m.size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) data += 3; /* UTF-8 BOM */
    int fmt = o->format != PR_FMT_AUTO ? o->format : format_from_name(path);
    R->S = (scanner){path, data, end, 1, o->delim};
    R->max_ids = o->max_ids > 0 && o->max_ids < PR_ID_MAX_COUNT ? o->max_ids : PR_ID_MAX_COUNT;
    if (!R->S.delim) {
        if (o->format == PR_FMT_TSV) R->S.delim = '\t';
        else if (o->format == PR_FMT_CSV) R->S.delim = ',';
    }
    /* the first non-blank line decides delimiter, header and columns */
    const char *p0 = data;
    while (p0 < end && (*p0 == '\n' || *p0 == '\r' || *p0 == ' ')) p0++;
    if (p0 == end) { rc = pr_err(err, PR_E_PARSE, "%s: empty file (only blank lines)", path); goto done; }
    if (!R->S.delim) R->S.delim = detect_delim(p0, end);
    const char *start;
    int64_t line0;
    first_record(&R->S, r, &start, &line0);
    if (r->bad) { rc = pr_err(err, PR_E_PARSE, "%s:%lld: %s", path, (long long)r->line, r->bad); goto done; }
    int header = o->header > 0 ? 1 : o->header < 0 ? 0 : looks_like_header(r);
    if ((rc = resolve_columns(&R->S, r, header, fmt, R->col, err))) goto done;
    if (!header) { /* the first record is data: parse it again */
        R->S.p = start;
        R->S.line = line0;
    }
    for (int k = 0; k < N_ROLES; k++) R->need = PR_MAX(R->need, R->col[k] + 1);
    /* a first guess of ~24 bytes a row; read_rows doubles when needed */
    int64_t cap = (int64_t)((size_t)(end - R->S.p) / 24) + 16;
    if ((rc = pr_interactions_reserve(x, cap, R->col[COL_RATING] >= 0, R->col[COL_TS] >= 0,
                                      R->col[COL_LABEL] >= 0))) {
        rc = pr_err(err, PR_E_NOMEM, "%s: %lld rows", path, (long long)cap);
        goto done;
    }
    R->x = x;
    if ((rc = read_rows(R, o, err))) goto done;
    if (x->n == 0) {
        if (x->skipped)
            rc = pr_err(err, PR_E_PARSE, "%s: no valid interactions (%lld malformed lines skipped)",
                        path, (long long)x->skipped);
        else
            rc = pr_err(err, PR_E_PARSE, "%s: header only, no interactions", path);
        goto done;
    }
    x->header = header;
    x->delim = R->S.delim;
    x->format = fmt != PR_FMT_AUTO ? fmt
                : x->label ? PR_FMT_MMREC
                : R->S.delim == '\t' ? PR_FMT_TSV : PR_FMT_CSV;
    *out = x;
    x = NULL;
done:
    pr_interactions_free(x);
    free(r);
    free(R);
    pr_map_close(&m);
    return rc;
}
