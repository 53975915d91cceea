/* features/tokenize.h: a small UTF-8 aware word tokenizer for item texts.
 *
 * Rules, in order, for each code point of the input:
 *   - ASCII letters are lowercased; ASCII digits kept;
 *   - Latin-1 Supplement and Latin Extended-A letters are lowercased and
 *     folded to ASCII (é -> e, Ø -> o, ß -> ss, Æ -> ae, Þ -> th, Ł -> l,
 *     Œ -> oe, Ĳ -> ij), as are ș/ț; Greek and basic Cyrillic capitals are
 *     lowercased; combining marks (U+0300-036F), soft hyphens, zero-width
 *     joiners and variation selectors are dropped, so a decomposed "e\u0301"
 *     folds like "é";
 *   - whitespace, ASCII punctuation (the apostrophe too: "children's" ->
 *     "children", "s"), Latin-1 symbols, general punctuation, currency,
 *     arrows, math and box symbols, CJK and fullwidth punctuation, emoji, and
 *     invalid UTF-8 bytes (each one) separate tokens;
 *   - any other code point (other scripts) is kept verbatim in the token.
 * A token is a maximal run of kept characters. Tokens longer than
 * PR_TOKEN_MAX bytes are dropped (URLs, hashes, binary noise). A token made
 * only of ASCII digits is a number: kept, replaced by "<num>", or dropped, by
 * option. Then, optionally, stop words (a small English list) are removed,
 * and plurals are stemmed (stem=1, pr_stem_s; off by default), and bigrams
 * "w1 w2" of adjacent kept tokens are appended after the
 * unigrams (a space cannot occur inside a token, so bigrams never collide
 * with unigrams).
 *
 * Costs: one pass, no allocation once the caller's pr_tokens has grown to
 * the largest text seen. Thread-safe (no global state). */
#ifndef PR_FEATURES_TOKENIZE_H
#define PR_FEATURES_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"
#include "data/idmap.h"

#define PR_TOKEN_MAX 64

enum { PR_TOK_NUM_KEEP = 0, PR_TOK_NUM_TOKEN = 1, PR_TOK_NUM_DROP = 2 };
enum { PR_TOK_HYPHEN_SPLIT = 0, PR_TOK_HYPHEN_JOIN = 1, PR_TOK_HYPHEN_BOTH = 2 };

typedef struct pr_tok_opts {
    int numbers;    /* PR_TOK_NUM_*; default keep */
    int stopwords;  /* 1: drop English stop words */
    int bigrams;    /* 1: append bigrams of adjacent kept tokens */
    int min_len;    /* drop tokens of fewer bytes (0 or 1: keep all) */
    int stem;       /* 1: English plural "S-stemmer" (Harman 1991), see pr_stem_s */
    int hyphen;     /* PR_TOK_HYPHEN_*: a '-' between two word characters splits
                     * ("t-shirt" -> t, shirt), joins (-> tshirt) or does both
                     * (-> t, shirt, tshirt); default split */
} pr_tok_opts;

/* Token list, reused across calls: tokens are NUL-terminated strings in buf. */
typedef struct pr_tokens {
    int n;           /* tokens */
    int n_uni;       /* of which the first n_uni are unigrams */
    char *buf;       /* token bytes, each followed by '\0' */
    size_t len, cap;
    int32_t *off;    /* (n + 1) start of token i in buf; off[n] = len */
    int cap_n;
} pr_tokens;

void pr_tokens_init(pr_tokens *t);
void pr_tokens_free(pr_tokens *t);
static inline const char *pr_token(const pr_tokens *t, int i) { return t->buf + t->off[i]; }
static inline size_t pr_token_len(const pr_tokens *t, int i) {
    return (size_t)(t->off[i + 1] - t->off[i] - 1);
}

/* Tokenize text (NUL-terminated; NULL is empty) into t, replacing its
 * contents. o may be NULL (defaults). Errors: PR_E_NOMEM, PR_E_RANGE for a
 * text over 1 GiB. */
int pr_tokenize(const char *text, const pr_tok_opts *o, pr_tokens *t);

/* Harman's S-stemmer on an ASCII lowercase word, in place; returns the new
 * length: "-ies" -> "-y" (not "-eies", "-aies"), "-es" -> "-e" (not "-aes",
 * "-ees", "-oes"), "-s" -> "" (not "-us", "-ss"); words of 3 bytes or fewer
 * and non-ASCII words are left alone. "shoes" -> "shoe", "tshirts" ->
 * "tshirt", "accessories" -> "accessory"; its known quirks stay:
 * "glasses" -> "glasse", "movies" -> "movy" (while "movie" stays). */
size_t pr_stem_s(char *w, size_t n);

/* 1 if w (n bytes, lowercase) is on the stop list. */
int pr_is_stopword(const char *w, size_t n);

/* Parse one "key=value" tokenizer option (stop=0|1, bigrams=0|1, stem=0|1,
 * num=keep|token|drop, hyphen=split|join|both, min_len=N) into o. Returns 1 if the key was a
 * tokenizer key and the value valid, 0 if the key is not a tokenizer key,
 * or PR_E_ARG (err filled) for a bad value. */
int pr_tok_opt_set(pr_tok_opts *o, const char *key, const char *val, pr_error *err);

/* Options in saved encoder state (version-tagged); load validates ranges. */
void pr_tok_opts_save(const pr_tok_opts *o, pr_buf *b);
int pr_tok_opts_load(pr_tok_opts *o, pr_cur *c, pr_error *err);

/* ---- corpus statistics, shared by the text encoders' fit() ---- */

/* Every distinct token of a corpus with its document frequency (df: texts
 * containing it) and collection frequency (cf: occurrences), and each text
 * as a list of token indices. Tokens are numbered in order of first
 * appearance in text order, so the result does not depend on the pool. */
typedef struct pr_term_stats {
    pr_idmap *terms;    /* token -> index */
    int64_t *df, *cf;   /* (terms->n) */
    int64_t n_docs;     /* texts that were not NULL */
    int64_t n_tokens;   /* tokens in all texts */
    int64_t *doc_ptr;   /* (n + 1): text i's tokens are doc_tok[doc_ptr[i] .. doc_ptr[i+1]) */
    int32_t *doc_tok;   /* (n_tokens) token indices in text order */
} pr_term_stats;

/* Tokenize texts[0..n) (NULL entries are skipped and have no tokens) on the
 * pool. st is filled and owned by the caller (pr_term_stats_free). */
int pr_term_stats_build(const char *const *texts, int64_t n, const pr_tok_opts *o, pr_pool *pool,
                        pr_term_stats *st, pr_error *err);
void pr_term_stats_free(pr_term_stats *st);

#endif
