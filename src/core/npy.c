/* core/npy.c: .npy reading and writing, half floats (see npy.h).
 *
 * Layout of a .npy file (numpy.lib.format):
 *   "\x93NUMPY" major minor  header_len (u16 LE for 1.x, u32 LE for 2.x/3.x)
 *   header: a Python dict literal, e.g.
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 *   padded with spaces and ending in '\n'; then the raw array bytes.
 * The header is parsed by a tiny hand-written recogniser for exactly that
 * dict (three keys, each once, in any order; string, bool and int-tuple
 * values; optional trailing comma), never by a general evaluator. Every
 * malformed input ends in one error message "PATH: npy header: WHAT". */
#include "npy.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_DIM ((int64_t)1 << 40) /* per axis: far beyond any real file, far from overflow */

/* ------------------------------------------------------------------ */
/* half floats                                                          */

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float pr_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in float */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13)); /* inf or NaN */
    return bits_f32(sign | ((e - 15 + 127) << 23) | (m << 13));
}

/* Round-to-nearest-even right shift of a positive integer. */
static uint32_t shift_rne(uint32_t v, int shift) {
    if (shift <= 0) return v;
    uint32_t q = v >> shift, rem = v & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return q;
}

uint16_t pr_f32_to_f16(float f) {
    uint32_t x = f32_bits(f), sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) { /* inf or NaN: keep NaN quiet and non-zero */
        if (a == 0x7f800000u) return (uint16_t)(sign | 0x7c00u);
        return (uint16_t)(sign | 0x7e00u | ((a & 0x7fffffu) >> 13));
    }
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf */
    int e = (int)(a >> 23);
    if (a < 0x38800000u) { /* below 2^-14: half subnormal (or zero), unit 2^-24 */
        if (e < 102) return (uint16_t)sign; /* < 2^-25: rounds to zero */
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        return (uint16_t)(sign | shift_rne(m, 126 - e)); /* may carry into the smallest normal */
    }
    uint32_t h = ((uint32_t)(e - 127 + 15) << 10) | ((a & 0x7fffffu) >> 13);
    uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* carry may bump the exponent */
    return (uint16_t)(sign | h);
}

/* ------------------------------------------------------------------ */
/* header recogniser                                                    */

typedef struct {
    const char *p, *end, *what;
    pr_error *err;
} hdr_lex;

typedef struct {
    char descr[8];
    int fortran;
    int ndim;
    int64_t shape[2];
} npy_hdr;

static int hdr_fail(hdr_lex *L, const char *msg) {
    return pr_err(L->err, PR_E_FORMAT, "%s: npy header: %s", L->what, msg);
}

static void hdr_ws(hdr_lex *L) {
    while (L->p < L->end && (*L->p == ' ' || *L->p == '\t' || *L->p == '\n' || *L->p == '\r'))
        L->p++;
}

static int hdr_peek(hdr_lex *L) { return L->p < L->end ? (unsigned char)*L->p : -1; }

static int hdr_expect(hdr_lex *L, char c, const char *msg) {
    hdr_ws(L);
    if (hdr_peek(L) != (unsigned char)c) return hdr_fail(L, msg);
    L->p++;
    return 0;
}

/* A quoted string without escapes into out[cap]. */
static int hdr_string(hdr_lex *L, char *out, size_t cap, const char *msg) {
    hdr_ws(L);
    int q = hdr_peek(L);
    if (q != '\'' && q != '"') return hdr_fail(L, msg);
    L->p++;
    size_t n = 0;
    while (L->p < L->end && *L->p != q) {
        unsigned char c = (unsigned char)*L->p;
        if (c == '\\' || c < 0x20 || c >= 0x7f) return hdr_fail(L, "unsupported character in a string");
        if (n + 1 >= cap) return hdr_fail(L, "string too long");
        out[n++] = *L->p++;
    }
    if (L->p >= L->end) return hdr_fail(L, "unterminated string");
    L->p++;
    out[n] = '\0';
    return 0;
}

static int hdr_bool(hdr_lex *L, int *v) {
    hdr_ws(L);
    size_t left = (size_t)(L->end - L->p);
    if (left >= 4 && memcmp(L->p, "True", 4) == 0) {
        *v = 1;
        L->p += 4;
    } else if (left >= 5 && memcmp(L->p, "False", 5) == 0) {
        *v = 0;
        L->p += 5;
    } else {
        return hdr_fail(L, "'fortran_order' must be True or False");
    }
    return 0;
}

/* A non-negative decimal integer (Python 2 'L' suffix allowed), <= NPY_MAX_DIM. */
static int hdr_dim(hdr_lex *L, int64_t *v) {
    hdr_ws(L);
    int64_t x = 0;
    int digits = 0;
    while (L->p < L->end && *L->p >= '0' && *L->p <= '9') {
        x = x * 10 + (*L->p - '0');
        if (x > NPY_MAX_DIM) return hdr_fail(L, "shape dimension too large");
        L->p++;
        digits++;
    }
    if (!digits) return hdr_fail(L, "shape must be a tuple of non-negative integers");
    if (L->p < L->end && *L->p == 'L') L->p++;
    *v = x;
    return 0;
}

/* "(a, b)" / "(a,)" / "()" into h->shape, h->ndim. */
static int hdr_shape(hdr_lex *L, npy_hdr *h) {
    int rc, n = 0, trailing = 0;
    if ((rc = hdr_expect(L, '(', "'shape' must be a tuple"))) return rc;
    hdr_ws(L);
    while (hdr_peek(L) != ')') {
        int64_t d = 0;
        if (n == 2) return hdr_fail(L, "only 1-D and 2-D arrays are supported");
        if ((rc = hdr_dim(L, &d))) return rc;
        h->shape[n++] = d;
        trailing = 0;
        hdr_ws(L);
        if (hdr_peek(L) == ',') {
            L->p++;
            trailing = 1;
            hdr_ws(L);
        } else if (hdr_peek(L) != ')') {
            return hdr_fail(L, "'shape' tuple: expected ',' or ')'");
        }
    }
    L->p++;
    if (n == 0) return hdr_fail(L, "0-d (scalar) arrays are not supported");
    if (n == 1 && !trailing) return hdr_fail(L, "'shape' (n) is not a tuple; expected (n,)");
    h->ndim = n;
    return 0;
}

/* The dict: each of the three keys exactly once, nothing else. */
static int hdr_dict(hdr_lex *L, npy_hdr *h) {
    int rc, seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if ((rc = hdr_expect(L, '{', "does not start with '{'"))) return rc;
    for (;;) {
        hdr_ws(L);
        if (hdr_peek(L) == '}') break;
        char key[32];
        if ((rc = hdr_string(L, key, sizeof key, "expected a quoted key or '}'"))) return rc;
        if ((rc = hdr_expect(L, ':', "expected ':' after a key"))) return rc;
        hdr_ws(L);
        if (strcmp(key, "descr") == 0) {
            if (seen_descr++) return hdr_fail(L, "key 'descr' repeated");
            if (hdr_peek(L) == '[') return hdr_fail(L, "structured dtypes are not supported");
            if ((rc = hdr_string(L, h->descr, sizeof h->descr, "'descr' must be a dtype string")))
                return rc;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (seen_fortran++) return hdr_fail(L, "key 'fortran_order' repeated");
            if ((rc = hdr_bool(L, &h->fortran))) return rc;
        } else if (strcmp(key, "shape") == 0) {
            if (seen_shape++) return hdr_fail(L, "key 'shape' repeated");
            if ((rc = hdr_shape(L, h))) return rc;
        } else {
            return pr_err(L->err, PR_E_FORMAT, "%s: npy header: unknown key '%s'", L->what, key);
        }
        hdr_ws(L);
        if (hdr_peek(L) == ',') L->p++;
        else if (hdr_peek(L) != '}') return hdr_fail(L, "expected ',' or '}' after a value");
    }
    L->p++;
    hdr_ws(L);
    if (L->p != L->end) return hdr_fail(L, "unexpected text after '}'");
    if (!seen_descr) return hdr_fail(L, "missing key 'descr'");
    if (!seen_fortran) return hdr_fail(L, "missing key 'fortran_order'");
    if (!seen_shape) return hdr_fail(L, "missing key 'shape'");
    return 0;
}

/* ------------------------------------------------------------------ */
/* reading                                                              */

enum { DT_F4, DT_F8, DT_F2, DT_U1 };

static int dtype_of(const char *descr, int *dt, size_t *size, const char *what, pr_error *err) {
    if (descr[0] == '>' && descr[1] != '\0')
        return pr_err(err, PR_E_FORMAT, "%s: npy header: big-endian dtype '%s' is not supported",
                      what, descr);
    const char *t = (descr[0] == '<' || descr[0] == '=' || descr[0] == '|') ? descr + 1 : descr;
    if (strcmp(t, "f4") == 0 && descr[0] != '|') *dt = DT_F4, *size = 4;
    else if (strcmp(t, "f8") == 0 && descr[0] != '|') *dt = DT_F8, *size = 8;
    else if (strcmp(t, "f2") == 0 && descr[0] != '|') *dt = DT_F2, *size = 2;
    else if (strcmp(t, "u1") == 0) *dt = DT_U1, *size = 1;
    else
        return pr_err(err, PR_E_FORMAT,
                      "%s: npy header: dtype '%s' is not supported (use <f4, <f8, <f2 or |u1)", what,
                      descr);
    return 0;
}

/* Magic, version and header length: *hdr, *hlen and *data_off on success. */
static int npy_preamble(const uint8_t *d, size_t n, const char *what, const char **hdr,
                        size_t *hlen, size_t *data_off, pr_error *err) {
    if (n < 10 || memcmp(d, NPY_MAGIC, 6) != 0)
        return pr_err(err, PR_E_FORMAT, "%s: not a .npy file (bad magic)", what);
    int major = d[6], minor = d[7];
    if (major < 1 || major > 3 || minor != 0)
        return pr_err(err, PR_E_FORMAT, "%s: npy format version %d.%d is not supported", what,
                      major, minor);
    size_t lenbytes = major == 1 ? 2 : 4;
    if (n < 8 + lenbytes)
        return pr_err(err, PR_E_FORMAT, "%s: npy header: truncated before the header length", what);
    uint64_t len = (uint64_t)d[8] | (uint64_t)d[9] << 8;
    if (lenbytes == 4) len |= (uint64_t)d[10] << 16 | (uint64_t)d[11] << 24;
    size_t start = 8 + lenbytes;
    if (len > n - start)
        return pr_err(err, PR_E_FORMAT, "%s: npy header: length %llu runs past the end of the file",
                      what, (unsigned long long)len);
    if (len == 0 || d[start + len - 1] != '\n')
        return pr_err(err, PR_E_FORMAT, "%s: npy header: does not end with a newline", what);
    *hdr = (const char *)d + start;
    *hlen = (size_t)len - 1;
    *data_off = start + (size_t)len;
    return 0;
}

static void convert(const uint8_t *src, int dt, size_t count, float *X) {
    for (size_t i = 0; i < count; i++) {
        switch (dt) {
        case DT_F4: memcpy(&X[i], src + 4 * i, 4); break;
        case DT_F8: {
            double v;
            memcpy(&v, src + 8 * i, 8);
            X[i] = (float)v;
            break;
        }
        case DT_F2: X[i] = pr_f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8)); break;
        default: X[i] = (float)src[i]; break;
        }
    }
}

int pr_npy_parse(const void *data, size_t n, const char *what, float **X, int64_t *rows,
                 int64_t *cols, pr_error *err) {
    const uint8_t *d = data;
    const char *hdr = NULL;
    size_t hlen = 0, off = 0, isz = 0;
    int rc, dt = DT_F4;
    npy_hdr h = {{0}, 0, 0, {0, 0}};
    if (!what) what = "npy";
    if ((rc = npy_preamble(d, n, what, &hdr, &hlen, &off, err))) return rc;
    hdr_lex L = {hdr, hdr + hlen, what, err};
    if ((rc = hdr_dict(&L, &h))) return rc;
    if (h.fortran)
        return pr_err(err, PR_E_FORMAT,
                      "%s: npy header: fortran_order True is not supported (save a C-order array)",
                      what);
    if ((rc = dtype_of(h.descr, &dt, &isz, what, err))) return rc;
    int64_t r = h.shape[0], c = h.ndim == 2 ? h.shape[1] : 1;
    /* both <= 2^40, so check the product before forming it */
    if (c > 0 && r > (int64_t)(SIZE_MAX / 8) / c)
        return pr_err(err, PR_E_FORMAT, "%s: npy header: shape (%lld, %lld) is too large", what,
                      (long long)r, (long long)c);
    size_t count = (size_t)r * (size_t)c;
    if (n - off != count * isz)
        return pr_err(err, PR_E_FORMAT,
                      "%s: npy data: shape (%lld, %lld) of '%s' needs %zu bytes, file has %zu", what,
                      (long long)r, (long long)c, h.descr, count * isz, n - off);
    float *out = pr_malloc(count, sizeof *out);
    if (!out) return pr_err(err, PR_E_NOMEM, "%s: %zu floats", what, count);
    convert(d + off, dt, count, out);
    *X = out;
    *rows = r;
    *cols = c;
    return 0;
}

int pr_npy_read(const char *path, float **X, int64_t *rows, int64_t *cols, pr_error *err) {
    pr_map m;
    int rc = pr_map_open(&m, path, err);
    if (rc) return rc;
    rc = pr_npy_parse(m.data, m.size, path, X, rows, cols, err);
    pr_map_close(&m);
    return rc;
}

/* ------------------------------------------------------------------ */
/* writing                                                              */

/* Header "{...}" + spaces + '\n' so that the data starts at a multiple of 64. */
static size_t npy_header(char *h, size_t cap, int64_t rows, int64_t cols) {
    int n = snprintf(h, cap, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     (long long)rows, (long long)cols);
    size_t len = (size_t)n;
    size_t total = 10 + len + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(h + len, ' ', pad);
    h[len + pad] = '\n';
    return len + pad + 1;
}

int pr_npy_encode(const float *X, int64_t rows, int64_t cols, uint8_t **out, size_t *n,
                  pr_error *err) {
    if (rows < 0 || cols < 0 || (cols > 0 && rows > (int64_t)(SIZE_MAX / 8) / cols))
        return pr_err(err, PR_E_ARG, "npy: bad shape (%lld, %lld)", (long long)rows, (long long)cols);
    char h[192];
    size_t hl = npy_header(h, sizeof h, rows, cols);
    size_t body = (size_t)rows * (size_t)cols * sizeof(float);
    uint8_t *b = malloc(10 + hl + body);
    if (!b) return pr_err(err, PR_E_NOMEM, "npy: %zu bytes", 10 + hl + body);
    memcpy(b, NPY_MAGIC, 6);
    b[6] = 1;
    b[7] = 0;
    b[8] = (uint8_t)(hl & 0xff);
    b[9] = (uint8_t)(hl >> 8);
    memcpy(b + 10, h, hl);
    if (body) memcpy(b + 10 + hl, X, body);
    *out = b;
    *n = 10 + hl + body;
    return 0;
}

int pr_npy_write(const char *path, const float *X, int64_t rows, int64_t cols, pr_error *err) {
    if (rows < 0 || cols < 0 || (cols > 0 && rows > (int64_t)(SIZE_MAX / 8) / cols))
        return pr_err(err, PR_E_ARG, "%s: bad shape (%lld, %lld)", path, (long long)rows,
                      (long long)cols);
    char h[192], pre[10];
    size_t hl = npy_header(h, sizeof h, rows, cols);
    memcpy(pre, NPY_MAGIC, 6);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (char)(hl & 0xff);
    pre[9] = (char)(hl >> 8);
    pr_atomic a;
    int rc = pr_atomic_open(&a, path, err);
    if (rc) return rc;
    size_t count = (size_t)rows * (size_t)cols;
    if (fwrite(pre, 1, 10, a.f) != 10 || fwrite(h, 1, hl, a.f) != hl ||
        (count && fwrite(X, sizeof *X, count, a.f) != count)) {
        pr_atomic_abort(&a);
        return pr_err(err, PR_E_IO, "%s: write failed", path);
    }
    return pr_atomic_commit(&a, err);
}
