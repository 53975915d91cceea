/* tests/features/test_text_tokenize.c: the tokenizer on accents, punctuation,
 * numbers, stop words, bigrams and invalid UTF-8. */
#include "core/rng.h"
#include "features/tokenize.h"
#include "t.h"

/* Tokens joined with '|' for compact expectations. */
static const char *joined(const char *text, const pr_tok_opts *o) {
    static char out[1024];
    pr_tokens t;
    pr_tokens_init(&t);
    int rc = pr_tokenize(text, o, &t);
    out[0] = '\0';
    if (rc) snprintf(out, sizeof out, "error %d", rc);
    for (int i = 0; rc == 0 && i < t.n; i++) {
        if (i) strncat(out, "|", sizeof out - strlen(out) - 1);
        strncat(out, pr_token(&t, i), sizeof out - strlen(out) - 1);
        if (strlen(pr_token(&t, i)) != pr_token_len(&t, i)) strcpy(out, "bad length");
    }
    pr_tokens_free(&t);
    return out;
}

TEST(test_ascii_and_punctuation) {
    CHECK_STR(joined("Toy Story (1995). Adventure, Animation|Children", NULL),
              "toy|story|1995|adventure|animation|children");
    CHECK_STR(joined("  don't STOP-me now!!  ", NULL), "don|t|stop|me|now");
    CHECK_STR(joined("Se7en 2.5 x", NULL), "se7en|2|5|x");
    CHECK_STR(joined("", NULL), "");
    CHECK_STR(joined(NULL, NULL), "");
    CHECK_STR(joined("...,;:!?", NULL), "");
    CHECK_STR(joined("a\tb\nc\r\nd", NULL), "a|b|c|d");
}

TEST(test_accents_and_scripts) {
    CHECK_STR(joined("Amélie — Café Crème", NULL), "amelie|cafe|creme");
    CHECK_STR(joined("Straße ÆSOP Œuvre Łódź", NULL), "strasse|aesop|oeuvre|lodz");
    CHECK_STR(joined("ÀÉÎÕÜ ñ Ç Ø ÿ Þór", NULL), "aeiou|n|c|o|y|thor");
    CHECK_STR(joined("Dvořák Čapek Ĳssel Şişli Țară", NULL), "dvorak|capek|ijssel|sisli|tara");
    CHECK_STR(joined("e\xcc\x81te\xcc\x81", NULL), "ete"); /* decomposed accents */
    CHECK_STR(joined("“quoted” ‘single’ a…b ©2019 ½ 5×3 ™x", NULL),
              "quoted|single|a|b|2019|5|3|x");
    CHECK_STR(joined("ΑΘΗΝΑ Москва 東京タワー", NULL), "αθηνα|москва|東京タワー");
    CHECK_STR(joined("soft\xc2\xadhyphen zero\xe2\x80\x8bspace", NULL), "softhyphen|zero|space");
    CHECK_STR(joined("fun 😀 emoji", NULL), "fun|emoji");
}

TEST(test_numbers_stop_bigrams) {
    pr_tok_opts o = {PR_TOK_NUM_TOKEN, 0, 0, 1, 0, 0};
    CHECK_STR(joined("Heat (1995) 2x 42", &o), "heat|<num>|2x|<num>");
    o.numbers = PR_TOK_NUM_DROP;
    CHECK_STR(joined("Heat (1995) 2x 42", &o), "heat|2x");
    pr_tok_opts s = {PR_TOK_NUM_KEEP, 1, 0, 1, 0, 0};
    CHECK_STR(joined("The Lord of the Rings: it's the Return of the King", &s),
              "lord|rings|return|king");
    s.bigrams = 1;
    CHECK_STR(joined("The Lord of the Rings", &s), "lord|rings|lord rings");
    CHECK_STR(joined("one", &s), "one");
    pr_tok_opts m = {PR_TOK_NUM_KEEP, 0, 1, 3, 0, 0};
    CHECK_STR(joined("a bb ccc dddd", &m), "ccc|dddd|ccc dddd");
    CHECK(pr_is_stopword("the", 3) && pr_is_stopword("yourselves", 10) && pr_is_stopword("a", 1));
    CHECK(!pr_is_stopword("th", 2) && !pr_is_stopword("them!", 5) && !pr_is_stopword("zebra", 5));
    pr_tok_opts p = {0, 0, 0, 1, 0, 0};
    pr_error err = {0};
    CHECK_EQ_INT(pr_tok_opt_set(&p, "stop", "1", &err), 1);
    CHECK_EQ_INT(pr_tok_opt_set(&p, "num", "token", &err), 1);
    CHECK_EQ_INT(pr_tok_opt_set(&p, "dim", "5", &err), 0);
    CHECK_EQ_INT(pr_tok_opt_set(&p, "bigrams", "yes", &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "bigrams=yes");
    CHECK(p.stopwords == 1 && p.numbers == PR_TOK_NUM_TOKEN);
}

TEST(test_stem_and_hyphens) {
    pr_tok_opts o = {PR_TOK_NUM_KEEP, 0, 0, 1, 1, PR_TOK_HYPHEN_SPLIT};
    CHECK_STR(joined("Shoes Tshirts accessories glasses bus boss movies aies", &o),
              "shoe|tshirt|accessory|glasse|bus|boss|movy|aie"); /* Harman's rules, quirks included */
    CHECK_STR(joined("cats is was gas his cafés", &o), "cat|is|was|gas|his|cafe");
    char w[16] = "ladies";
    CHECK_EQ_INT(pr_stem_s(w, 6), 4);
    CHECK(memcmp(w, "lady", 4) == 0);
    o.stem = 0;
    o.hyphen = PR_TOK_HYPHEN_JOIN;
    CHECK_STR(joined("T-shirt e-mail re- -x a--b 3-pack", &o), "tshirt|email|re|x|a|b|3pack");
    o.hyphen = PR_TOK_HYPHEN_BOTH;
    CHECK_STR(joined("T-Shirt and x-ray-vision", &o), "t|shirt|tshirt|and|x|ray|vision|xrayvision");
    o.stem = 1;
    CHECK_STR(joined("T-shirts", &o), "t|shirt|tshirt");
    o.stopwords = 1;
    CHECK_STR(joined("the-end", &o), "end|theend"); /* parts filtered, the compound kept */
    pr_error err = {0};
    CHECK_EQ_INT(pr_tok_opt_set(&o, "hyphen", "split", &err), 1);
    CHECK_EQ_INT(o.hyphen, PR_TOK_HYPHEN_SPLIT);
    CHECK_EQ_INT(pr_tok_opt_set(&o, "hyphen", "glue", &err), PR_E_ARG);
    CHECK_EQ_INT(pr_tok_opt_set(&o, "stem", "0", &err), 1);
    CHECK_EQ_INT(o.stem, 0);
}

TEST(test_long_and_invalid) {
    char big[300];
    memset(big, 'x', 200);
    strcpy(big + 200, " ok");
    CHECK_STR(joined(big, NULL), "ok"); /* overlong token dropped */
    /* a token of exactly PR_TOKEN_MAX bytes is kept */
    memset(big, 'y', PR_TOKEN_MAX);
    big[PR_TOKEN_MAX] = '\0';
    CHECK_EQ_INT(strlen(joined(big, NULL)), PR_TOKEN_MAX);
    /* invalid bytes separate: stray continuation, truncated sequence, overlong, surrogate */
    CHECK_STR(joined("ab\x80" "cd", NULL), "ab|cd");
    CHECK_STR(joined("ab\xc3", NULL), "ab");
    CHECK_STR(joined("ab\xe2\x82" "cd", NULL), "ab|cd");
    CHECK_STR(joined("ab\xc0\xaf" "cd", NULL), "ab|cd");
    CHECK_STR(joined("ab\xed\xa0\x80" "cd", NULL), "ab|cd");
    CHECK_STR(joined("ab\xf5\x80\x80\x80" "cd", NULL), "ab|cd");
    /* random bytes: never a crash, tokens always valid NUL-terminated strings */
    pr_rng g;
    pr_rng_init(&g, 3, 3);
    pr_tokens t;
    pr_tokens_init(&t);
    pr_tok_opts o = {PR_TOK_NUM_TOKEN, 1, 1, 1, 1, PR_TOK_HYPHEN_BOTH};
    char buf[512];
    int bad = 0;
    for (int it = 0; it < 3000; it++) {
        int n = (int)pr_rng_below(&g, 500);
        for (int i = 0; i < n; i++) buf[i] = (char)(1 + pr_rng_below(&g, 255));
        buf[n] = '\0';
        if (pr_tokenize(buf, &o, &t) != 0) bad++;
        for (int i = 0; i < t.n; i++) bad += pr_token_len(&t, i) == 0 || pr_token_len(&t, i) > 2 * PR_TOKEN_MAX + 1;
    }
    CHECK_EQ_INT(bad, 0);
    pr_tokens_free(&t);
}

int main(void) {
    RUN(test_ascii_and_punctuation);
    RUN(test_accents_and_scripts);
    RUN(test_numbers_stop_bigrams);
    RUN(test_stem_and_hyphens);
    RUN(test_long_and_invalid);
    return t_done();
}
