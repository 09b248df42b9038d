/* rt_string.c — string tensors: float32 <-> text (Cast) and StringNormalizer.
 *
 * A string tensor is n cells of cap bytes each (compiler/lower.c lays it out), the bytes
 * of one string followed by a NUL. Readers stop at the first NUL or after cap - 1 bytes,
 * so a cell the caller filled without a terminator is still read safely; writers always
 * terminate. Bytes are bytes: nothing here decodes UTF-8, and case changes touch only
 * ASCII letters, so any other byte (a UTF-8 sequence included) passes through unchanged.
 *
 * No libc string or stdio calls: the LLVM back end links this file's bitcode into objects
 * that may need nothing beyond libm, and the text must not depend on the C library's
 * locale. Formatting follows numpy's str() of a float32 (what the ONNX reference casts
 * with): the shortest digits that read back to the same float32, positional for
 * 1e-4 <= |x| < 1e16 ("0.0001", "123456790.0"), else scientific ("1e-05", "1.5e+16");
 * "nan", "inf", "-inf", "0.0", "-0.0". */
#include "onnxcc_rt.h"

#include <math.h>

/* 10^0 .. 10^22 are exact doubles: one multiply or divide by them rounds once. */
static const double rt_p10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* a * 10^e */
static double rt_scale10(double a, long e)
{
    while (e > 22 && a != 0 && a < 1e300) {
        a *= 1e22;
        e -= 22;
    }
    while (e < -22 && a != 0 && a > 1e-300) {
        a /= 1e22;
        e += 22;
    }
    if (e > 22) return a == 0 ? 0 : HUGE_VAL;
    if (e < -22) return 0;
    return e >= 0 ? a * rt_p10[e] : a / rt_p10[-e];
}

static ptrdiff_t rt_cell_len(const unsigned char *s, ptrdiff_t cap)
{
    ptrdiff_t n = 0;
    while (n < cap - 1 && s[n]) n++;
    return n;
}

/* Writes the text of x into out (at least RT_STR_F32_MAX bytes); returns its length
 * without the NUL. */
static ptrdiff_t rt_fmt_f32(float x, unsigned char *out)
{
    ptrdiff_t n = 0;
    if (x != x) {
        out[0] = 'n'; out[1] = 'a'; out[2] = 'n'; out[3] = 0;
        return 3;
    }
    if (signbit(x)) out[n++] = '-';
    double a = fabs((double)x);
    if (isinf(a)) {
        out[n++] = 'i'; out[n++] = 'n'; out[n++] = 'f'; out[n] = 0;
        return n;
    }
    if (a == 0) {
        out[n++] = '0'; out[n++] = '.'; out[n++] = '0'; out[n] = 0;
        return n;
    }
    /* the shortest p-digit decimal D * 10^(k-p+1) that reads back as x */
    int k = (int)floor(log10(a));
    double D = 0;
    int p;
    for (p = 1; p <= 9; p++) {
        for (int tries = 0; tries < 3; tries++) {   /* log10 may be one off near 10^k */
            D = rint(rt_scale10(a, p - 1 - k));
            if (D >= rt_p10[p]) k++;
            else if (D < rt_p10[p - 1]) k--;
            else break;
        }
        if ((float)rt_scale10(D, k - p + 1) == (float)a) break;
    }
    if (p > 9) p = 9;
    unsigned char dig[10];
    int nd = p;
    unsigned long long di = (unsigned long long)D;
    for (int i = p - 1; i >= 0; i--) {
        dig[i] = (unsigned char)('0' + di % 10);
        di /= 10;
    }
    while (nd > 1 && dig[nd - 1] == '0') nd--;
    if (a >= 1e-4 && a < 1e16) {
        if (k >= 0) {
            for (int i = 0; i <= k; i++) out[n++] = i < nd ? dig[i] : '0';
            out[n++] = '.';
            if (nd > k + 1)
                for (int i = k + 1; i < nd; i++) out[n++] = dig[i];
            else
                out[n++] = '0';
        } else {
            out[n++] = '0';
            out[n++] = '.';
            for (int i = 0; i < -k - 1; i++) out[n++] = '0';
            for (int i = 0; i < nd; i++) out[n++] = dig[i];
        }
    } else {
        out[n++] = dig[0];
        if (nd > 1) {
            out[n++] = '.';
            for (int i = 1; i < nd; i++) out[n++] = dig[i];
        }
        out[n++] = 'e';
        out[n++] = k < 0 ? '-' : '+';
        int e = k < 0 ? -k : k;
        if (e >= 100) out[n++] = (unsigned char)('0' + e / 100);
        out[n++] = (unsigned char)('0' + e / 10 % 10);
        out[n++] = (unsigned char)('0' + e % 10);
    }
    out[n] = 0;
    return n;
}

void rt_str_from_f32(const float *X, unsigned char *Y, ptrdiff_t n, ptrdiff_t cap)
{
    unsigned char buf[RT_STR_F32_MAX];
    for (ptrdiff_t i = 0; i < n; i++) {
        ptrdiff_t len = rt_fmt_f32(X[i], buf);
        unsigned char *y = Y + i * cap;
        if (len > cap - 1) len = cap - 1;   /* the compiler sizes cells to fit: not reached */
        for (ptrdiff_t j = 0; j < len; j++) y[j] = buf[j];
        y[len] = 0;
    }
}

static int rt_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int rt_is_space(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* s[0..len) equals the letters of word (lower case) ignoring ASCII case */
static int rt_word_is(const unsigned char *s, ptrdiff_t len, const char *word)
{
    ptrdiff_t i = 0;
    for (; i < len && word[i]; i++)
        if (rt_lower(s[i]) != word[i]) return 0;
    return i == len && !word[i];
}

/* Python's float() of the text, then rounded to float32 (numpy's astype); text that is
 * not a number gives NaN. */
static float rt_parse_f32(const unsigned char *s, ptrdiff_t len)
{
    ptrdiff_t i = 0;
    while (i < len && rt_is_space(s[i])) i++;
    while (len > i && rt_is_space(s[len - 1])) len--;
    int neg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (rt_word_is(s + i, len - i, "nan")) return neg ? -NAN : NAN;
    if (rt_word_is(s + i, len - i, "inf") || rt_word_is(s + i, len - i, "infinity"))
        return neg ? -INFINITY : INFINITY;
    unsigned long long D = 0;
    int ndig = 0, seen = 0;
    long e10 = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, seen = 1) {
        if (D == 0 && s[i] == '0') continue;
        if (ndig < 19) {
            D = D * 10 + (unsigned)(s[i] - '0');
            ndig++;
        } else {
            e10++;
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, seen = 1) {
            if (D == 0 && s[i] == '0') {
                e10--;
                continue;
            }
            if (ndig < 19) {
                D = D * 10 + (unsigned)(s[i] - '0');
                ndig++;
                e10--;
            }
        }
    }
    if (!seen) return NAN;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0, edig = 0;
        long ev = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, edig++)
            if (ev < 100000) ev = ev * 10 + (s[i] - '0');
        if (!edig) return NAN;
        e10 += eneg ? -ev : ev;
    }
    if (i != len) return NAN;
    double v = rt_scale10((double)D, e10);
    return (float)(neg ? -v : v);
}

void rt_str_to_f32(const unsigned char *X, float *Y, ptrdiff_t n, ptrdiff_t cap)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const unsigned char *x = X + i * cap;
        Y[i] = rt_parse_f32(x, rt_cell_len(x, cap));
    }
}

static int rt_same(const unsigned char *a, ptrdiff_t na, const unsigned char *b, ptrdiff_t nb,
                   int case_sensitive)
{
    if (na != nb) return 0;
    for (ptrdiff_t i = 0; i < na; i++)
        if (case_sensitive ? a[i] != b[i] : rt_lower(a[i]) != rt_lower(b[i])) return 0;
    return 1;
}

void rt_str_normalize(const unsigned char *X, unsigned char *Y, int64_t *count, ptrdiff_t n,
                      ptrdiff_t cap, ptrdiff_t case_change, ptrdiff_t case_sensitive,
                      const unsigned char *stop, ptrdiff_t nstop, ptrdiff_t stop_cap)
{
    ptrdiff_t kept = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        const unsigned char *x = X + i * cap;
        ptrdiff_t len = rt_cell_len(x, cap), s;
        for (s = 0; s < nstop; s++) {
            const unsigned char *w = stop + s * stop_cap;
            if (rt_same(x, len, w, rt_cell_len(w, stop_cap), case_sensitive != 0)) break;
        }
        if (s < nstop) continue;
        unsigned char *y = Y + kept * cap;   /* kept <= i: in place is fine */
        for (ptrdiff_t j = 0; j < len; j++) {
            int c = x[j];
            if (case_change == RT_CASE_LOWER) c = rt_lower(c);
            else if (case_change == RT_CASE_UPPER && c >= 'a' && c <= 'z') c -= 'a' - 'A';
            y[j] = (unsigned char)c;
        }
        y[len] = 0;
        kept++;
    }
    if (!kept) {   /* the operator's rule: everything removed leaves one empty string */
        Y[0] = 0;
        kept = 1;
    }
    *count = kept;
}
