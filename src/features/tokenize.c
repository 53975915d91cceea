/* features/tokenize.c: UTF-8 decoding, case and accent folding, splitting
 * (rules in tokenize.h). Each code point is classified once by fold_cp():
 * append these bytes to the current token, ignore it, or end the token. */
#include "tokenize.h"

#include <stdlib.h>
#include <string.h>

enum { CP_SEP = -1, CP_IGNORE = 0 };

/* ------------------------------------------------------------------ */
/* UTF-8                                                                */

/* Decode one code point at s (NUL-terminated). Returns the bytes consumed
 * (>= 1); an invalid or truncated sequence consumes one byte and yields
 * U+FFFD. Rejects overlongs, surrogates and values above U+10FFFF. */
static int utf8_next(const unsigned char *s, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) n = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) n = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, v = c & 0x07, min = 0x10000;
    else {
        *cp = 0xfffd;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) { /* also stops at the NUL terminator */
            *cp = 0xfffd;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = v;
    return n;
}

static int utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* ------------------------------------------------------------------ */
/* folding tables                                                       */

/* U+00C0..U+00FF; NULL = separator (the multiplication and division signs) */
static const char *const latin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y",
};

/* Latin Extended-A, U+0100..U+017F, as ranges of one folded form */
static const struct { uint16_t lo, hi; const char *to; } latin_ext_a[] = {
    {0x100, 0x105, "a"}, {0x106, 0x10d, "c"}, {0x10e, 0x111, "d"}, {0x112, 0x11b, "e"},
    {0x11c, 0x123, "g"}, {0x124, 0x127, "h"}, {0x128, 0x131, "i"}, {0x132, 0x133, "ij"},
    {0x134, 0x135, "j"}, {0x136, 0x138, "k"}, {0x139, 0x142, "l"}, {0x143, 0x14b, "n"},
    {0x14c, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"}, {0x15a, 0x161, "s"},
    {0x162, 0x167, "t"}, {0x168, 0x173, "u"}, {0x174, 0x175, "w"}, {0x176, 0x178, "y"},
    {0x179, 0x17e, "z"}, {0x17f, 0x17f, "s"},
};

/* Blocks of symbols and punctuation outside ASCII/Latin-1 that separate. */
static const struct { uint32_t lo, hi; } sep_blocks[] = {
    {0x2000, 0x200b}, {0x200e, 0x206f}, /* spaces, dashes, quotes, bullets (not ZWNJ/ZWJ) */
    {0x20a0, 0x20cf},                   /* currency */
    {0x2100, 0x214f},                   /* letterlike symbols: (TM), No. */
    {0x2190, 0x2bff},                   /* arrows, math, technical, box, shapes, dingbats */
    {0x2e00, 0x2e7f},                   /* supplemental punctuation */
    {0x3000, 0x303f},                   /* CJK symbols and punctuation */
    {0xfe30, 0xfe4f}, {0xfe50, 0xfe6f}, /* CJK compatibility / small forms */
    {0xff00, 0xff0f}, {0xff1a, 0xff20}, {0xff3b, 0xff40}, {0xff5b, 0xff65},
    {0xfff0, 0xffff},                   /* specials, incl. U+FFFD */
    {0x1f000, 0x1faff},                 /* emoji and pictographs */
};

/* Classify cp: > 0 bytes to append (written to out), CP_IGNORE or CP_SEP. */
static int fold_cp(uint32_t cp, char out[8]) {
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
        else if (!((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))) return CP_SEP;
        out[0] = (char)cp;
        return 1;
    }
    const char *to = NULL;
    if (cp < 0xc0) { /* Latin-1 punctuation and symbols */
        if (cp == 0xad) return CP_IGNORE; /* soft hyphen */
        if (cp == 0xaa) to = "a";
        else if (cp == 0xba) to = "o";
        else return CP_SEP;
    } else if (cp < 0x100) {
        if (!(to = latin1[cp - 0xc0])) return CP_SEP;
    } else if (cp < 0x180) {
        for (size_t i = 0; i < sizeof latin_ext_a / sizeof latin_ext_a[0]; i++)
            if (cp >= latin_ext_a[i].lo && cp <= latin_ext_a[i].hi) to = latin_ext_a[i].to;
    } else if (cp == 0x218 || cp == 0x219) {
        to = "s"; /* comma-below s (Romanian) */
    } else if (cp == 0x21a || cp == 0x21b) {
        to = "t";
    }
    if (to) {
        size_t n = strlen(to);
        memcpy(out, to, n);
        return (int)n;
    }
    if ((cp >= 0x300 && cp <= 0x36f) || cp == 0x200c || cp == 0x200d || cp == 0xfeff ||
        (cp >= 0xfe00 && cp <= 0xfe0f))
        return CP_IGNORE;
    for (size_t i = 0; i < sizeof sep_blocks / sizeof sep_blocks[0]; i++)
        if (cp >= sep_blocks[i].lo && cp <= sep_blocks[i].hi) return CP_SEP;
    if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) cp += 0x20; /* Greek capitals */
    else if (cp >= 0x410 && cp <= 0x42f) cp += 0x20;            /* Cyrillic capitals */
    else if (cp >= 0x400 && cp <= 0x40f) cp += 0x50;
    return utf8_put(cp, out);
}

/* ------------------------------------------------------------------ */
/* stop words                                                           */

/* A small English list (function words), sorted for binary search. */
static const char *const stop_list[] = {
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "d", "did", "do", "does", "doing", "down", "during", "each", "few",
    "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
    "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "just", "ll", "m", "me", "more", "most", "my", "myself", "no", "nor", "not", "now",
    "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
    "own", "re", "s", "same", "she", "should", "so", "some", "such", "t", "than", "that", "the",
    "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "ve", "very", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
    "your", "yours", "yourself", "yourselves",
};

int pr_is_stopword(const char *w, size_t n) {
    int lo = 0, hi = (int)(sizeof stop_list / sizeof stop_list[0]) - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strncmp(stop_list[mid], w, n);
        if (c == 0) c = stop_list[mid][n] == '\0' ? 0 : 1;
        if (c == 0) return 1;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* token list                                                           */

void pr_tokens_init(pr_tokens *t) { memset(t, 0, sizeof *t); }

void pr_tokens_free(pr_tokens *t) {
    free(t->buf);
    free(t->off);
    memset(t, 0, sizeof *t);
}

static int push(pr_tokens *t, const char *s, size_t n, const char *s2, size_t n2) {
    size_t need = t->len + n + (s2 ? 1 + n2 : 0) + 1;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < need) cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) return PR_E_NOMEM;
        t->buf = b;
        t->cap = cap;
    }
    if (t->n + 2 > t->cap_n) {
        int cap = t->cap_n ? 2 * t->cap_n : 64;
        int32_t *o = pr_realloc(t->off, (size_t)cap, sizeof *o);
        if (!o) return PR_E_NOMEM;
        t->off = o;
        t->cap_n = cap;
    }
    t->off[t->n] = (int32_t)t->len;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    if (s2) {
        t->buf[t->len++] = ' ';
        memcpy(t->buf + t->len, s2, n2);
        t->len += n2;
    }
    t->buf[t->len++] = '\0';
    t->n++;
    t->off[t->n] = (int32_t)t->len;
    return 0;
}

size_t pr_stem_s(char *w, size_t n) {
    if (n <= 3) return n;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)w[i] >= 0x80) return n;
    const char *e = w + n;
    if (e[-1] != 's') return n;
    if (e[-3] == 'i' && e[-2] == 'e' && n > 4 && e[-4] != 'e' && e[-4] != 'a') {
        w[n - 3] = 'y';
        return n - 2;
    }
    if (e[-2] == 'e' && e[-3] != 'a' && e[-3] != 'e' && e[-3] != 'o') return n - 1;
    if (e[-2] != 'u' && e[-2] != 's') return n - 1;
    return n;
}

/* Filter and push one finished raw token cur[0..n) (cur is writable). */
static int flush(pr_tokens *t, const pr_tok_opts *o, char *cur, size_t n, int digits_only) {
    if (n == 0 || n > PR_TOKEN_MAX) return 0;
    if (digits_only) {
        if (o->numbers == PR_TOK_NUM_DROP) return 0;
        if (o->numbers == PR_TOK_NUM_TOKEN) return push(t, "<num>", 5, NULL, 0);
    }
    if (o->min_len > 1 && n < (size_t)o->min_len) return 0;
    if (o->stopwords && pr_is_stopword(cur, n)) return 0;
    if (o->stem) n = pr_stem_s(cur, n);
    return push(t, cur, n, NULL, 0);
}

/* 1 if the code point at s folds to a word character. */
static int word_char_at(const unsigned char *s) {
    uint32_t cp;
    char out[8];
    return *s && fold_cp((utf8_next(s, &cp), cp), out) > 0;
}

int pr_tokenize(const char *text, const pr_tok_opts *o, pr_tokens *t) {
    static const pr_tok_opts defaults = {PR_TOK_NUM_KEEP, 0, 0, 1, 0, PR_TOK_HYPHEN_SPLIT};
    if (!o) o = &defaults;
    t->n = t->n_uni = 0;
    t->len = 0;
    if (!text) text = "";
    if (strlen(text) > ((size_t)1 << 30)) return PR_E_RANGE;
    char cur[PR_TOKEN_MAX + 8], comp[PR_TOKEN_MAX + 8]; /* comp: hyphenated parts joined */
    size_t n = 0, cn = 0;
    int digits_only = 1, overlong = 0, parts = 0, comp_digits = 1, comp_over = 0, rc = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (;;) {
        uint32_t cp = 0;
        int used = *s ? utf8_next(s, &cp) : 0;
        char out[8];
        int k = used ? fold_cp(cp, out) : CP_SEP;
        if (k == CP_IGNORE) {
            s += used;
            continue;
        }
        if (k == CP_SEP) {
            int hyph = o->hyphen != PR_TOK_HYPHEN_SPLIT && (cp == '-' || cp == 0x2010 || cp == 0x2011) &&
                       n > 0 && !overlong && word_char_at(s + used);
            if (hyph && o->hyphen == PR_TOK_HYPHEN_JOIN) { /* the word goes on */
                s += used;
                continue;
            }
            if (parts > 0 || hyph) { /* collect the part for the compound */
                if (overlong || cn + n > PR_TOKEN_MAX) comp_over = 1;
                else memcpy(comp + cn, cur, n), cn += n;
                comp_digits &= digits_only;
                parts++;
            }
            if (!overlong && (rc = flush(t, o, cur, n, digits_only))) return rc;
            if (!hyph) {
                if (parts >= 2 && !comp_over && (rc = flush(t, o, comp, cn, comp_digits))) return rc;
                parts = 0, cn = 0, comp_digits = 1, comp_over = 0;
            }
            n = 0;
            digits_only = 1;
            overlong = 0;
            if (!used) break;
            s += used;
            continue;
        }
        if (n + (size_t)k > PR_TOKEN_MAX) overlong = 1;
        else {
            for (int i = 0; i < k; i++) digits_only &= out[i] >= '0' && out[i] <= '9';
            memcpy(cur + n, out, (size_t)k);
            n += (size_t)k;
        }
        s += used;
    }
    t->n_uni = t->n;
    if (o->bigrams)
        for (int i = 0; i + 1 < t->n_uni; i++) {
            /* copy the pair out first: push may move buf */
            char a[PR_TOKEN_MAX + 1], b[PR_TOKEN_MAX + 1];
            size_t na = pr_token_len(t, i), nb = pr_token_len(t, i + 1);
            memcpy(a, pr_token(t, i), na);
            memcpy(b, pr_token(t, i + 1), nb);
            if ((rc = push(t, a, na, b, nb))) return rc;
        }
    return 0;
}

int pr_tok_opt_set(pr_tok_opts *o, const char *key, const char *val, pr_error *err) {
    int *flag = strcmp(key, "stop") == 0      ? &o->stopwords
                : strcmp(key, "bigrams") == 0 ? &o->bigrams
                : strcmp(key, "stem") == 0    ? &o->stem
                                              : NULL;
    if (flag) {
        if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
            return pr_err(err, PR_E_ARG, "tokenizer: %s=%s: expected 0 or 1", key, val);
        *flag = val[0] == '1';
        return 1;
    }
    if (strcmp(key, "num") == 0) {
        if (strcmp(val, "keep") == 0) o->numbers = PR_TOK_NUM_KEEP;
        else if (strcmp(val, "token") == 0) o->numbers = PR_TOK_NUM_TOKEN;
        else if (strcmp(val, "drop") == 0) o->numbers = PR_TOK_NUM_DROP;
        else return pr_err(err, PR_E_ARG, "tokenizer: num=%s: expected keep, token or drop", val);
        return 1;
    }
    if (strcmp(key, "hyphen") == 0) {
        if (strcmp(val, "split") == 0) o->hyphen = PR_TOK_HYPHEN_SPLIT;
        else if (strcmp(val, "join") == 0) o->hyphen = PR_TOK_HYPHEN_JOIN;
        else if (strcmp(val, "both") == 0) o->hyphen = PR_TOK_HYPHEN_BOTH;
        else return pr_err(err, PR_E_ARG, "tokenizer: hyphen=%s: expected split, join or both", val);
        return 1;
    }
    if (strcmp(key, "min_len") == 0) {
        char *end;
        long v = strtol(val, &end, 10);
        if (end == val || *end || v < 0 || v > PR_TOKEN_MAX)
            return pr_err(err, PR_E_ARG, "tokenizer: min_len=%s: expected 0..%d", val, PR_TOKEN_MAX);
        o->min_len = (int)v;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* corpus statistics                                                    */

/* One thread's texts, tokenized into a flat arena of NUL-ended tokens. */
typedef struct {
    char *chars;
    size_t len, cap;
    int64_t *ntok; /* (texts in the slice) */
    int64_t total;
    int rc;
} tok_slice;

typedef struct {
    const char *const *texts;
    int64_t n;
    const pr_tok_opts *o;
    tok_slice *sl; /* (nth) */
} tok_job;

static void tokenize_slice(void *ctx, int ith, int nth) {
    tok_job *J = ctx;
    tok_slice *s = &J->sl[ith];
    int64_t b, e;
    pr_split(J->n, ith, nth, &b, &e);
    pr_tokens t;
    pr_tokens_init(&t);
    if (!(s->ntok = pr_calloc((size_t)(e > b ? e - b : 1), sizeof *s->ntok))) s->rc = PR_E_NOMEM;
    for (int64_t i = b; i < e && !s->rc; i++) {
        if (!J->texts[i]) continue;
        if ((s->rc = pr_tokenize(J->texts[i], J->o, &t))) break;
        if (s->len + t.len > s->cap) {
            size_t cap = s->cap ? s->cap : 4096;
            while (cap < s->len + t.len) cap *= 2;
            char *c = realloc(s->chars, cap);
            if (!c) {
                s->rc = PR_E_NOMEM;
                break;
            }
            s->chars = c;
            s->cap = cap;
        }
        if (t.len) memcpy(s->chars + s->len, t.buf, t.len);
        s->len += t.len;
        s->ntok[i - b] = t.n;
        s->total += t.n;
    }
    pr_tokens_free(&t);
}

void pr_term_stats_free(pr_term_stats *st) {
    pr_idmap_free(st->terms);
    free(st->df);
    free(st->cf);
    free(st->doc_ptr);
    free(st->doc_tok);
    memset(st, 0, sizeof *st);
}

/* Serial pass in text order: token strings -> indices, df and cf. */
static int count_slices(tok_job *J, int nth, pr_term_stats *st, pr_error *err) {
    int64_t cap = 0, *last = NULL, pos = 0;
    int rc = 0;
    for (int t = 0; t < nth; t++) st->n_tokens += J->sl[t].total;
    st->doc_ptr = pr_calloc((size_t)J->n + 1, sizeof *st->doc_ptr);
    st->doc_tok = pr_malloc((size_t)(st->n_tokens ? st->n_tokens : 1), sizeof *st->doc_tok);
    if (!(st->terms = pr_idmap_new()) || !st->doc_ptr || !st->doc_tok) goto oom;
    for (int t = 0; t < nth; t++) {
        tok_slice *s = &J->sl[t];
        int64_t b, e;
        pr_split(J->n, t, nth, &b, &e);
        const char *p = s->chars;
        for (int64_t i = b; i < e; i++) {
            st->doc_ptr[i] = pos;
            if (J->texts[i]) st->n_docs++;
            for (int64_t k = 0; k < s->ntok[i - b]; k++) {
                size_t len = strlen(p);
                int32_t id = pr_idmap_add(st->terms, p, len);
                if (id < 0) { rc = pr_err(err, id, "text: vocabulary: cannot add token '%s'", p); goto done; }
                if (id >= cap) {
                    int64_t nc = cap ? 2 * cap : 4096;
                    int64_t *df = pr_realloc(st->df, (size_t)nc, sizeof *df), *cf = NULL, *ls = NULL;
                    if (df) st->df = df;
                    if (df && (cf = pr_realloc(st->cf, (size_t)nc, sizeof *cf))) st->cf = cf;
                    if (cf && (ls = pr_realloc(last, (size_t)nc, sizeof *ls))) last = ls;
                    if (!ls) goto oom;
                    for (int64_t j = cap; j < nc; j++) st->df[j] = st->cf[j] = 0, last[j] = -1;
                    cap = nc;
                }
                st->cf[id]++;
                if (last[id] != i) st->df[id]++, last[id] = i;
                st->doc_tok[pos++] = id;
                p += len + 1;
            }
        }
    }
    st->doc_ptr[J->n] = pos;
    goto done;
oom:
    rc = pr_err(err, PR_E_NOMEM, "text: vocabulary");
done:
    free(last);
    return rc;
}

int pr_term_stats_build(const char *const *texts, int64_t n, const pr_tok_opts *o, pr_pool *pool,
                        pr_term_stats *st, pr_error *err) {
    memset(st, 0, sizeof *st);
    int nth = pool ? pr_pool_size(pool) : 1, rc = 0;
    tok_job J = {texts, n, o, pr_calloc((size_t)nth, sizeof(tok_slice))};
    if (!J.sl) return pr_err(err, PR_E_NOMEM, "text: tokenize");
    pr_pool_run(pool, tokenize_slice, &J);
    for (int t = 0; t < nth && !rc; t++)
        if (J.sl[t].rc) rc = pr_err(err, J.sl[t].rc, "text: tokenize: %s", pr_err_name(J.sl[t].rc));
    if (!rc) rc = count_slices(&J, nth, st, err);
    for (int t = 0; t < nth; t++) {
        free(J.sl[t].chars);
        free(J.sl[t].ntok);
    }
    free(J.sl);
    if (rc) pr_term_stats_free(st);
    return rc;
}

/* ------------------------------------------------------------------ */
/* options in saved state                                               */

#define TOK_OPTS_VERSION 1

void pr_tok_opts_save(const pr_tok_opts *o, pr_buf *b) {
    pr_buf_put_u32(b, TOK_OPTS_VERSION);
    pr_buf_put_u32(b, (uint32_t)o->numbers);
    pr_buf_put_u32(b, (uint32_t)o->stopwords);
    pr_buf_put_u32(b, (uint32_t)o->bigrams);
    pr_buf_put_u32(b, (uint32_t)o->min_len);
    pr_buf_put_u32(b, (uint32_t)o->stem);
    pr_buf_put_u32(b, (uint32_t)o->hyphen);
}

int pr_tok_opts_load(pr_tok_opts *o, pr_cur *c, pr_error *err) {
    uint32_t v[7];
    int rc;
    for (int i = 0; i < 7; i++)
        if ((rc = pr_cur_get_u32(c, &v[i], err))) return rc;
    if (v[0] != TOK_OPTS_VERSION || v[1] > PR_TOK_NUM_DROP || v[2] > 1 || v[3] > 1 ||
        v[4] > PR_TOKEN_MAX || v[5] > 1 || v[6] > PR_TOK_HYPHEN_BOTH)
        return pr_err(err, PR_E_FORMAT, "%s: tokenizer options are corrupt", c->what);
    o->numbers = (int)v[1];
    o->stopwords = (int)v[2];
    o->bigrams = (int)v[3];
    o->min_len = (int)v[4];
    o->stem = (int)v[5];
    o->hyphen = (int)v[6];
    return 0;
}
