/* kir_lowbit.c — the storage-only types (float8 E4M3FN/E4M3FNUZ/E5M2/E5M2FNUZ/E8M0,
 * float4 E2M1, int4/uint4, int2/uint2) as loop-IR expressions.
 *
 * Such a value lives in one byte (the 4- and 2-bit ones unpacked) and is never computed on
 * directly: an operator decodes it to float32/int32 and encodes its result back. Both
 * directions are written here with integer operations and a float32 <-> int32 bitcast, so
 * every back end (C, LLVM, HLS) and the interpreter get them without knowing the types.
 * Rounding is to nearest even, as the ONNX reference's conversions. */
#include <math.h>
#include "kir.h"

typedef struct LowFmt {
    int e, m, bias;      /* exponent and mantissa bits, exponent bias */
    int maxc;            /* largest finite magnitude code */
    int width;           /* 8 or 4 bits: the sign is bit width-1 */
    int fnuz;            /* no negative zero, no infinity: 0x80 is the one NaN */
    int inf;             /* infinity's magnitude code (E5M2), else -1 */
    int nan;             /* the NaN this conversion writes, sign not included */
} LowFmt;

static LowFmt low_fmt(DType t)
{
    switch (t) {
    case DT_F8E4M3FN: return (LowFmt){ 4, 3, 7, 0x7e, 8, 0, -1, 0x7f };
    case DT_F8E4M3FNUZ: return (LowFmt){ 4, 3, 8, 0x7f, 8, 1, -1, 0x80 };
    case DT_F8E5M2: return (LowFmt){ 5, 2, 15, 0x7b, 8, 0, 0x7c, 0x7e };
    case DT_F8E5M2FNUZ: return (LowFmt){ 5, 2, 16, 0x7f, 8, 1, -1, 0x80 };
    /* float4e2m1 has no NaN; the reference writes a NaN as 0x8 (negative zero) */
    default: return (LowFmt){ 2, 1, 1, 0x7, 4, 0, -1, 0x8 };
    }
}

static int int_bits(DType t)
{
    return t == DT_I4 || t == DT_U4 ? 4 : 2;
}

static KExpr *i32(KB *k, int64_t v) { return kc_int(k, DT_I32, v); }
static KExpr *i64(KB *k, int64_t v) { return kc_int(k, DT_I64, v); }
static KExpr *f32(KB *k, double v) { return kc_float(k, DT_F32, v); }

/* float8/float4 byte -> float32 */
static KExpr *decode_float(KB *k, DType t, KExpr *x)
{
    LowFmt f = low_fmt(t);
    int b = kdecl(k, DT_I32, kcast(k, DT_I32, x));
    KExpr *e = kbin(k, KB_BAND, kbin(k, KB_SHR, kvar(k, b), i32(k, f.m)), i32(k, (1 << f.e) - 1));
    int ev = kdecl(k, DT_I32, e);
    int mv = kdecl(k, DT_I32, kbin(k, KB_BAND, kvar(k, b), i32(k, (1 << f.m) - 1)));
    /* normal: the exponent rebiased to float32's, the mantissa at its top */
    KExpr *bits = kbin(k, KB_BOR,
                       kbin(k, KB_SHL, kadd(k, kvar(k, ev), i32(k, 127 - f.bias)), i32(k, 23)),
                       kbin(k, KB_SHL, kvar(k, mv), i32(k, 23 - f.m)));
    KExpr *vn = kbitcast(k, DT_F32, bits);
    /* subnormal: m units of 2^(1 - bias - m), exact in float32 */
    KExpr *vs = kmul(k, kcast(k, DT_F32, kvar(k, mv)), f32(k, ldexp(1.0, 1 - f.bias - f.m)));
    int v = kdecl(k, DT_F32, ksel(k, kbin(k, KB_EQ, kvar(k, ev), i32(k, 0)), vs, vn));
    int sbit = 1 << (f.width - 1);
    KExpr *neg = kbin(k, KB_NE, kbin(k, KB_BAND, kvar(k, b), i32(k, sbit)), i32(k, 0));
    KExpr *r = ksel(k, neg, kun(k, KU_NEG, kvar(k, v)), kvar(k, v));
    KExpr *mag = kbin(k, KB_BAND, kvar(k, b), i32(k, sbit - 1));
    if (f.fnuz) {
        r = ksel(k, kbin(k, KB_EQ, kvar(k, b), i32(k, 0x80)), f32(k, NAN), r);
    } else if (f.inf >= 0) {
        r = ksel(k, kbin(k, KB_EQ, mag, i32(k, f.inf)),
                 ksel(k, neg, f32(k, -INFINITY), f32(k, INFINITY)), r);
        r = ksel(k, kbin(k, KB_GT, kbin(k, KB_BAND, kvar(k, b), i32(k, sbit - 1)),
                         i32(k, f.inf)), f32(k, NAN), r);
    } else if (t != DT_F4E2M1) {
        r = ksel(k, kbin(k, KB_EQ, mag, i32(k, 0x7f)), f32(k, NAN), r);
    }
    return r;
}

/* float32 -> float8/float4 byte */
static KExpr *encode_float(KB *k, DType t, KExpr *x, int saturate)
{
    LowFmt f = low_fmt(t);
    if (t == DT_F4E2M1) saturate = 1;
    int xv = kdecl(k, DT_F32, x);
    int u = kdecl(k, DT_I64, kcast(k, DT_I64, kbitcast(k, DT_U32, kvar(k, xv))));
    int a = kdecl(k, DT_I64, kbin(k, KB_BAND, kvar(k, u), i64(k, 0x7fffffff)));
    /* normal: float32's mantissa rounded to m bits, ties to even, then rebiased (a carry
     * out of the mantissa lands in the exponent, as it should) */
    int sh = 23 - f.m;
    KExpr *odd = kbin(k, KB_BAND, kbin(k, KB_SHR, kvar(k, a), i64(k, sh)), i64(k, 1));
    KExpr *rn = kbin(k, KB_SHR, kadd(k, kadd(k, kvar(k, a), i64(k, (1 << (sh - 1)) - 1)), odd),
                     i64(k, sh));
    rn = kbin(k, KB_SUB, rn, i64(k, (int64_t)(127 - f.bias) << f.m));
    /* below the smallest normal: units of the smallest subnormal, rint rounds to even; a
     * result of 2^m is the smallest normal's code */
    KExpr *sub = kun(k, KU_RINT, kmul(k, kun(k, KU_ABS, kvar(k, xv)),
                                      f32(k, ldexp(1.0, f.bias - 1 + f.m))));
    KExpr *small = kbin(k, KB_LT, kvar(k, a), i64(k, (int64_t)(127 - f.bias + 1) << 23));
    int c = kdecl(k, DT_I64, ksel(k, small, kcast(k, DT_I64, sub), rn));
    int ovf = saturate ? f.maxc : f.fnuz ? 0x80 : f.inf >= 0 ? f.inf : f.nan;
    kset(k, c, ksel(k, kbin(k, KB_GT, kvar(k, c), i64(k, f.maxc)), i64(k, ovf), kvar(k, c)));
    int sbit = 1 << (f.width - 1);
    KExpr *neg = kbin(k, KB_GE, kvar(k, u), i64(k, 0x80000000LL));
    if (f.fnuz) neg = kbin(k, KB_AND, neg, kbin(k, KB_NE, kvar(k, c), i64(k, 0)));
    KExpr *r = ksel(k, neg, kbin(k, KB_BOR, kvar(k, c), i64(k, sbit)), kvar(k, c));
    KExpr *nan = i64(k, f.nan);
    if (!f.fnuz && t != DT_F4E2M1)
        nan = ksel(k, kbin(k, KB_GE, kvar(k, u), i64(k, 0x80000000LL)), i64(k, f.nan | sbit), nan);
    r = ksel(k, kbin(k, KB_GT, kvar(k, a), i64(k, 0x7f800000)), nan, r);
    return kcast(k, DT_U8, r);
}

/* float8e8m0: 2^(c - 127), 0xff NaN, no sign. Encoding rounds the exponent up (the
 * default round_mode "up"): the smallest power of two not below |x|. */
static KExpr *decode_e8m0(KB *k, KExpr *x)
{
    int b = kdecl(k, DT_I32, kcast(k, DT_I32, x));
    KExpr *v = kbitcast(k, DT_F32, kbin(k, KB_SHL, kvar(k, b), i32(k, 23)));
    v = ksel(k, kbin(k, KB_EQ, kvar(k, b), i32(k, 0)), f32(k, ldexp(1.0, -127)), v);
    return ksel(k, kbin(k, KB_EQ, kvar(k, b), i32(k, 255)), f32(k, NAN), v);
}

static KExpr *encode_e8m0(KB *k, KExpr *x, int saturate)
{
    int u = kdecl(k, DT_I64, kcast(k, DT_I64, kbitcast(k, DT_U32, x)));
    int a = kdecl(k, DT_I64, kbin(k, KB_BAND, kvar(k, u), i64(k, 0x7fffffff)));
    KExpr *e = kbin(k, KB_SHR, kvar(k, a), i64(k, 23));
    KExpr *up = kcast(k, DT_I64, kbin(k, KB_NE, kbin(k, KB_BAND, kvar(k, a), i64(k, 0x7fffff)),
                                      i64(k, 0)));
    int c = kdecl(k, DT_I64, kadd(k, e, up));
    KExpr *r = ksel(k, kbin(k, KB_GT, kvar(k, c), i64(k, 254)), i64(k, saturate ? 254 : 255),
                    kvar(k, c));
    r = ksel(k, kbin(k, KB_GT, kvar(k, a), i64(k, 0x7f800000)), i64(k, 255), r);
    return kcast(k, DT_U8, r);
}

KExpr *klow_decode(KB *k, DType t, KExpr *x)
{
    if (!dt_is_lowfloat(t)) return kcast(k, DT_I32, x);
    if (t == DT_F8E8M0) return decode_e8m0(k, x);
    return decode_float(k, t, x);
}

KExpr *klow_encode(KB *k, DType t, KExpr *v, int saturate)
{
    if (dt_is_lowfloat(t)) {
        v = kcast(k, DT_F32, v);
        return t == DT_F8E8M0 ? encode_e8m0(k, v, saturate) : encode_float(k, t, v, saturate);
    }
    /* integers: keep the low bits, sign-extended for the signed types */
    int bits = int_bits(t);
    KExpr *w = kbin(k, KB_BAND, kcast(k, DT_I64, v), i64(k, (1 << bits) - 1));
    if (t == DT_I4 || t == DT_I2) {
        int wv = kdecl(k, DT_I64, w);
        w = ksel(k, kbin(k, KB_GE, kvar(k, wv), i64(k, 1 << (bits - 1))),
                 kbin(k, KB_SUB, kvar(k, wv), i64(k, 1 << bits)), kvar(k, wv));
    }
    return kcast(k, dt_storage(t), w);
}

KExpr *klow_quantize(KB *k, DType t, KExpr *v, int saturate)
{
    if (dt_is_lowfloat(t)) return klow_encode(k, t, v, saturate);
    int bits = int_bits(t);
    int sgn = t == DT_I4 || t == DT_I2;
    double lo = sgn ? -(double)(1 << (bits - 1)) : 0;
    double hi = sgn ? (double)((1 << (bits - 1)) - 1) : (double)((1 << bits) - 1);
    v = kun(k, KU_RINT, kcast(k, DT_F32, v));
    v = kbin(k, KB_MAX, kbin(k, KB_MIN, v, f32(k, hi)), f32(k, lo));
    return kcast(k, dt_storage(t), v);
}
