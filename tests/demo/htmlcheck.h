/* tests/demo/htmlcheck.h: a small well-formedness check for the demo's report.
 *
 * Not an HTML5 parser: it checks the stricter shape the report promises, so
 * that any browser reads it the same way:
 *   - one <!DOCTYPE html>, then elements that nest properly: every opened
 *     element is closed by its own end tag, in order; void elements (img, meta,
 *     br, ...) are never closed; "<x/>" is accepted (SVG);
 *   - attribute values are double-quoted and contain no '<' or '"';
 *   - every '&' in text or attributes starts an entity (&name; &#123; &#x1f;);
 *   - <style> holds raw text up to </style>; <script> is refused (the page
 *     must work without JavaScript); comments are skipped;
 *   - html, head and body each appear exactly once.
 * The src of every <img> is collected so the test can check the files exist.
 * Returns 0, or -1 with msg naming the line and the problem. */
#ifndef PR_TESTS_DEMO_HTMLCHECK_H
#define PR_TESTS_DEMO_HTMLCHECK_H

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define HC_MAX_DEPTH 256
#define HC_NAME 32

typedef struct hc_result {
    char msg[256];
    int n_src, max_src;
    char (*src)[256]; /* (max_src) img src values, caller storage */
    int n_elements, n_svg, n_img;
} hc_result;

static int hc_line(const char *start, const char *p) {
    int line = 1;
    for (; start < p; start++) line += *start == '\n';
    return line;
}

static int hc_fail(hc_result *r, const char *start, const char *p, const char *what) {
    snprintf(r->msg, sizeof r->msg, "line %d: %s", hc_line(start, p), what);
    return -1;
}

static int hc_is_void(const char *name) {
    static const char *const v[] = {"area", "base", "br", "col", "embed", "hr", "img", "input",
                                    "link", "meta", "source", "track", "wbr", NULL};
    for (int k = 0; v[k]; k++)
        if (!strcmp(name, v[k])) return 1;
    return 0;
}

/* An entity at p ('&'): returns its length, 0 when malformed. */
static int hc_entity(const char *p) {
    const char *q = p + 1;
    if (*q == '#') {
        q++;
        int hex = *q == 'x' || *q == 'X';
        if (hex) q++;
        const char *d = q;
        while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q)) q++;
        if (q == d) return 0;
    } else {
        const char *d = q;
        while (isalnum((unsigned char)*q)) q++;
        if (q == d) return 0;
    }
    return *q == ';' ? (int)(q - p + 1) : 0;
}

static int html_check(const char *text, hc_result *r) {
    char stack[HC_MAX_DEPTH][HC_NAME];
    int depth = 0, n_html = 0, n_head = 0, n_body = 0, doctype = 0;
    const char *p = text;
    r->n_src = r->n_elements = r->n_svg = r->n_img = 0;
    r->msg[0] = '\0';
    while (*p) {
        if (*p == '&') {
            int n = hc_entity(p);
            if (!n) return hc_fail(r, text, p, "'&' that does not start an entity");
            p += n;
            continue;
        }
        if (*p != '<') {
            p++;
            continue;
        }
        if (!strncmp(p, "<!--", 4)) {
            const char *e = strstr(p + 4, "-->");
            if (!e) return hc_fail(r, text, p, "unterminated comment");
            p = e + 3;
            continue;
        }
        if (!strncmp(p, "<!DOCTYPE html>", 15) || !strncmp(p, "<!doctype html>", 15)) {
            if (doctype++ || depth || r->n_elements) return hc_fail(r, text, p, "DOCTYPE not first or repeated");
            p += 15;
            continue;
        }
        int closing = p[1] == '/';
        const char *q = p + 1 + closing;
        char name[HC_NAME];
        int nl = 0;
        while (isalnum((unsigned char)*q) || *q == '-' || *q == ':') {
            if (nl + 1 >= HC_NAME) return hc_fail(r, text, p, "tag name too long");
            name[nl++] = (char)tolower((unsigned char)*q++);
        }
        name[nl] = '\0';
        if (!nl) return hc_fail(r, text, p, "'<' that does not start a tag (write &lt;)");
        if (closing) {
            while (isspace((unsigned char)*q)) q++;
            if (*q != '>') return hc_fail(r, text, p, "malformed end tag");
            if (!depth || strcmp(stack[depth - 1], name) != 0) {
                char m[160];
                snprintf(m, sizeof m, "</%s> does not close <%s>", name, depth ? stack[depth - 1] : "(nothing)");
                return hc_fail(r, text, p, m);
            }
            depth--;
            p = q + 1;
            continue;
        }
        if (!strcmp(name, "script")) return hc_fail(r, text, p, "<script> in a page that must work without JavaScript");
        /* attributes */
        int self_close = 0, is_img = !strcmp(name, "img");
        for (;;) {
            while (isspace((unsigned char)*q)) q++;
            if (*q == '>') break;
            if (q[0] == '/' && q[1] == '>') {
                self_close = 1;
                q++;
                break;
            }
            const char *an = q;
            while (isalnum((unsigned char)*q) || *q == '-' || *q == ':' || *q == '_') q++;
            if (q == an) return hc_fail(r, text, q, "malformed attribute");
            size_t an_len = (size_t)(q - an);
            if (*q != '=') continue; /* boolean attribute */
            q++;
            if (*q != '"') return hc_fail(r, text, q, "attribute value not double-quoted");
            const char *v = ++q;
            while (*q && *q != '"') {
                if (*q == '<') return hc_fail(r, text, q, "'<' inside an attribute value");
                if (*q == '&') {
                    int n = hc_entity(q);
                    if (!n) return hc_fail(r, text, q, "'&' in an attribute that does not start an entity");
                    q += n - 1;
                }
                q++;
            }
            if (!*q) return hc_fail(r, text, v, "unterminated attribute value");
            if (is_img && an_len == 3 && !strncmp(an, "src", 3) && r->n_src < r->max_src) {
                size_t len = (size_t)(q - v) < 255 ? (size_t)(q - v) : 255;
                memcpy(r->src[r->n_src], v, len);
                r->src[r->n_src++][len] = '\0';
            }
            q++;
        }
        r->n_elements++;
        r->n_svg += !strcmp(name, "svg");
        r->n_img += is_img;
        n_html += !strcmp(name, "html"), n_head += !strcmp(name, "head"), n_body += !strcmp(name, "body");
        p = q + 1;
        if (self_close || hc_is_void(name)) continue;
        if (!strcmp(name, "style")) {
            const char *e = strstr(p, "</style>");
            if (!e) return hc_fail(r, text, p, "unterminated <style>");
            p = e + 8;
            continue;
        }
        if (depth == HC_MAX_DEPTH) return hc_fail(r, text, p, "elements nested too deep");
        snprintf(stack[depth++], HC_NAME, "%s", name);
    }
    if (depth) {
        char m[96];
        snprintf(m, sizeof m, "<%s> is never closed", stack[depth - 1]);
        return hc_fail(r, text, p, m);
    }
    if (!doctype) return hc_fail(r, text, p, "no <!DOCTYPE html>");
    if (n_html != 1 || n_head != 1 || n_body != 1) return hc_fail(r, text, p, "html, head and body must appear once each");
    return 0;
}

#endif
