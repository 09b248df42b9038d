/* misc.c — operators that fit no larger family: TopK, the window generators
 * (BlackmanWindow, HammingWindow, HannWindow), DFT, STFT, MelWeightMatrix, Det, and the
 * quantization ops QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
 *
 * Each lowers to plain loops (no runtime kernels), so constant folding can run them:
 * - TopK selects k times per row: the next pick is the best element ordered after the
 *   previous pick (value, then lower index first), so no scratch mask is needed;
 * - DFT and STFT are direct O(n^2) sums in double, with the twiddle angle reduced
 *   modulo n in integers first so large n keep their accuracy;
 * - Det is an LU decomposition with partial pivoting in a double scratch copy;
 * - quantization rounds half to even (rint) and saturates before the integer cast, since
 *   a float-to-integer conversion out of range is undefined in C. */
#include <math.h>
#include <string.h>
#include "../onnxcc.h"

/* M_PI is POSIX, not C11 */
#define MISC_PI 3.14159265358979323846

static KExpr *fc(KB *k, DType t, double v) { return kc_float(k, t, v); }
static KExpr *fadd(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_ADD, a, b); }
static KExpr *fsub(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_SUB, a, b); }
static KExpr *fmul(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_MUL, a, b); }
static KExpr *fdiv(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_DIV, a, b); }

static int is_num_dt(DType t)
{
    return t == DT_F32 || t == DT_F64 || (dt_is_int(t) && t != DT_IDX);
}

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}

/* A scalar (or one-element) constant integer input; -1 with node_err otherwise. */
static int const_scalar(Node *n, int i, const char *what, int64_t *out)
{
    Value *v = node_in(n, i);
    if (!v) return node_err(n, "missing input %s", what);
    if (!dt_is_int(v->type.dt)) return node_err(n, "%s must be an integer", what);
    if (type_numel(&v->type) != 1) return node_err(n, "%s must have one element", what);
    if (!v->data)
        return node_need_const(n, v, "%s must be a compile-time constant (initializer or "
                                     "folded value): the output shape depends on it", what);
    int64_t *vals;
    if (const_ints(n, i, &vals) != 1) return -1;
    *out = vals[0];
    return 0;
}

/* ---- TopK -------------------------------------------------------------------------- */

static int topk_params(Node *n, int *axis, int64_t *kk)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input X");
    if (!is_num_dt(x->type.dt)) return node_err(n, "input type %s is not supported",
                                               dt_name(x->type.dt));
    if (x->type.rank < 1) return node_err(n, "input must have rank >= 1");
    if (norm_axis(n, attr_i(n, "axis", -1), x->type.rank, axis)) return -1;
    if (n->opset < 10) {
        *kk = attr_i(n, "k", -1);
    } else if (const_scalar(n, 1, "k", kk)) {
        return -1;
    }
    if (*kk < 0 || *kk > x->type.dims[*axis])
        return node_err(n, "k = %lld is outside [0, %lld]", (long long)*kk,
                        (long long)x->type.dims[*axis]);
    return 0;
}

int topk_infer(Node *n)
{
    int axis;
    int64_t kk;
    if (topk_params(n, &axis, &kk)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int64_t dims[KIR_MAX_RANK];
    memcpy(dims, xt->dims, sizeof dims);
    dims[axis] = kk;
    if (set_out(n, 0, xt->dt, xt->rank, dims)) return -1;
    if (node_out(n, 1) && set_out(n, 1, DT_I64, xt->rank, dims)) return -1;
    return 0;
}

int topk_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int axis;
    int64_t kk;
    if (topk_params(n, &axis, &kk)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int64_t outer = prod(xt->dims, 0, axis), len = xt->dims[axis];
    int64_t inner = prod(xt->dims, axis + 1, xt->rank);
    if (outer * inner * kk == 0) return 0;
    int largest = attr_i(n, "largest", 1) != 0;
    int X = lw_in(L, 0), V = lw_out(L, 0), I = node_out(n, 1) ? lw_out(L, 1) : -1;
    if (X < 0 || V < 0 || (node_out(n, 1) && I < 0)) return -1;
    DType t = xt->dt;
    KBinOp better = largest ? KB_GT : KB_LT;
    KExpr *o = kvar(k, kfor_n(k, outer, KL_PARALLEL));
    KExpr *in = kvar(k, kfor_n(k, inner, KL_SERIAL));
    KExpr *base = kadd(k, kmuli(k, o, len * inner), in);
    /* previous pick: (pv, pi); pi = -1 before the first */
    int pv = kdecl(k, t, kload(k, X, base)), pi = kdecl(k, DT_IDX, kc_idx(k, -1));
    KExpr *s = kvar(k, kfor_n(k, kk, KL_SERIAL));
    int bv = kdecl(k, t, kload(k, X, base)), bi = kdecl(k, DT_IDX, kc_idx(k, -1));
    KExpr *j = kvar(k, kfor_n(k, len, KL_REDUCE));
    int xv = kdecl(k, t, kload(k, X, kadd(k, base, kmuli(k, j, inner))));
    KExpr *x = kvar(k, xv);
    /* ordered after the previous pick: worse value, or equal value and higher index */
    KExpr *after = kbin(k, KB_OR, kbin(k, KB_LT, kvar(k, pi), kc_idx(k, 0)),
                        kbin(k, KB_OR, kbin(k, better, kvar(k, pv), x),
                             kbin(k, KB_AND, kbin(k, KB_EQ, x, kvar(k, pv)),
                                  kbin(k, KB_GT, j, kvar(k, pi)))));
    /* first eligible, or strictly better (ties keep the lower index) */
    KExpr *take = kbin(k, KB_AND, after, kbin(k, KB_OR, kbin(k, KB_LT, kvar(k, bi), kc_idx(k, 0)),
                                              kbin(k, better, x, kvar(k, bv))));
    kif(k, take);
    kset(k, bv, x);
    kset(k, bi, j);
    kend(k);
    kend(k); /* j */
    KExpr *oi = kadd(k, kadd(k, kmuli(k, o, kk * inner), kmuli(k, s, inner)), in);
    kstore(k, V, oi, kvar(k, bv));
    if (I >= 0) kstore(k, I, oi, kcast(k, DT_I64, kvar(k, bi)));
    kset(k, pv, kvar(k, bv));
    kset(k, pi, kvar(k, bi));
    kend_n(k, 3);
    return 0;
}

/* ---- window functions -------------------------------------------------------------- */

static int window_params(Node *n, int64_t *size, DType *dt)
{
    if (const_scalar(n, 0, "size", size)) return -1;
    if (*size < 0 || *size > ((int64_t)1 << 30))
        return node_err(n, "invalid window size %lld", (long long)*size);
    *dt = (DType)attr_i(n, "output_datatype", DT_F32);
    if (!is_num_dt(*dt)) return node_err(n, "output_datatype %d is not supported", (int)*dt);
    return 0;
}

int window_infer(Node *n)
{
    int64_t size = 0;
    DType dt = DT_UNDEF;
    if (window_params(n, &size, &dt)) return -1;
    return set_out(n, 0, dt, 1, &size);
}

/* Generalized cosine windows a0 - a1 cos(2 pi i / N) + a2 cos(4 pi i / N), with N = size
 * (periodic) or size - 1 (symmetric), in double. */
int window_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int64_t size = 0;
    DType dt = DT_UNDEF;
    if (window_params(n, &size, &dt)) return -1;
    int Y = lw_out(L, 0);
    if (Y < 0) return -1;
    if (size == 0) return 0;
    double a0, a1, a2 = 0;
    if (n->op == OP_HannWindow) a0 = 0.5, a1 = 0.5;
    else if (n->op == OP_HammingWindow) a0 = 25.0 / 46.0, a1 = 21.0 / 46.0;
    else a0 = 0.42, a1 = 0.5, a2 = 0.08;
    int periodic = attr_i(n, "periodic", 1) != 0;
    double N = (double)(periodic ? size : size - 1);
    if (N <= 0) N = 1; /* a symmetric window of one point: cos(0) */
    const DType F = DT_F64;
    KExpr *i = kvar(k, kfor_n(k, size, KL_VECTOR));
    KExpr *ang = fdiv(k, fmul(k, fc(k, F, 2 * MISC_PI), kcast(k, F, i)), fc(k, F, N));
    KExpr *y = fsub(k, fc(k, F, a0), fmul(k, fc(k, F, a1), kun(k, KU_COS, ang)));
    if (a2 != 0) y = fadd(k, y, fmul(k, fc(k, F, a2), kun(k, KU_COS, fmul(k, fc(k, F, 2.0), ang))));
    kstore(k, Y, i, kcast(k, dt, y));
    kend(k);
    return 0;
}

/* ---- DFT, STFT ----------------------------------------------------------------------- */

/* One complex DFT bin: re/im (F64 vars) += sum over j < len of x_j e^{sign 2 pi i j kk / n}.
 * load_re/load_im give input element j (im NULL for real input). The angle's integer part
 * j*kk is reduced mod n first. */
typedef KExpr *(*LoadFn)(KB *k, const void *ctx, KExpr *j, int imag);

static void dft_bin(KB *k, int re, int im, KExpr *kk, int64_t len, int64_t nfft, double sign,
                    LoadFn ld, const void *ctx, int cplx)
{
    const DType F = DT_F64;
    KExpr *j = kvar(k, kfor_n(k, len, KL_REDUCE));
    KExpr *m = kbin(k, KB_REM, kmul(k, j, kk), kc_idx(k, nfft));
    int av = kdecl(k, F, fdiv(k, fmul(k, fc(k, F, sign * 2 * MISC_PI), kcast(k, F, m)),
                              fc(k, F, (double)nfft)));
    int cv = kdecl(k, F, kun(k, KU_COS, kvar(k, av))), sv = kdecl(k, F, kun(k, KU_SIN, kvar(k, av)));
    KExpr *xr = ld(k, ctx, j, 0);
    KExpr *c = kvar(k, cv), *s = kvar(k, sv);
    if (cplx) {
        KExpr *xi = ld(k, ctx, j, 1);
        /* (xr + i xi)(c + i s) */
        kset(k, re, fadd(k, kvar(k, re), fsub(k, fmul(k, xr, c), fmul(k, xi, s))));
        kset(k, im, fadd(k, kvar(k, im), fadd(k, fmul(k, xr, s), fmul(k, xi, c))));
    } else {
        kset(k, re, fadd(k, kvar(k, re), fmul(k, xr, c)));
        kset(k, im, fadd(k, kvar(k, im), fmul(k, xr, s)));
    }
    kend(k);
}

typedef struct DftCtx {
    int buf;
    KExpr *base;       /* flat offset of element 0 of the signal (complex part 0) */
    int64_t stride;    /* elements between signal samples */
    int cplx;          /* last dim 2 */
    int win;           /* STFT window buffer, or -1 */
} DftCtx;

static KExpr *dft_load(KB *k, const void *vctx, KExpr *j, int imag)
{
    const DftCtx *c = vctx;
    KExpr *at = kadd(k, c->base, kmuli(k, j, c->stride));
    if (imag) at = kaddi(k, at, 1);
    KExpr *v = kcast(k, DT_F64, kload(k, c->buf, at));
    if (c->win >= 0) v = fmul(k, v, kcast(k, DT_F64, kload(k, c->win, j)));
    return v;
}

static int dft_params(Node *n, int *axis, int64_t *nfft, int64_t *nout)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input");
    const Type *xt = &x->type;
    if (xt->dt != DT_F32 && xt->dt != DT_F64)
        return node_err(n, "input type %s is not supported (float, double)", dt_name(xt->dt));
    if (xt->rank < 2 || (xt->dims[xt->rank - 1] != 1 && xt->dims[xt->rank - 1] != 2))
        return node_err(n, "input must have rank >= 2 with a last dimension of 1 (real) or 2 "
                           "(complex)");
    /* opset 20 moved axis from an attribute (default 1) to input 2 (default -2) */
    int64_t a = attr_i(n, "axis", 1);
    if (n->opset >= 20) {
        a = -2;
        if (n->nin > 2 && node_in(n, 2) && const_scalar(n, 2, "axis", &a)) return -1;
    }
    int64_t given = a;
    if (a < 0) a += xt->rank;
    if (a < 0 || a >= xt->rank - 1)
        return node_err(n, "axis %lld is out of range (the last dimension holds the complex "
                           "parts)", (long long)given);
    *axis = (int)a;
    *nfft = xt->dims[a];
    if (node_in(n, 1)) {
        if (const_scalar(n, 1, "dft_length", nfft)) return -1;
        if (*nfft < 1 || *nfft > ((int64_t)1 << 24))
            return node_err(n, "invalid dft_length %lld", (long long)*nfft);
    }
    int onesided = attr_i(n, "onesided", 0) != 0;
    if (onesided && attr_i(n, "inverse", 0))
        return node_err(n, "onesided with inverse is not supported");
    if (onesided && xt->dims[xt->rank - 1] == 2)
        return node_err(n, "onesided needs a real input (last dimension 1)");
    *nout = onesided ? *nfft / 2 + 1 : *nfft;
    if (*nfft == 0) return node_err(n, "the signal axis is empty");
    return 0;
}

int dft_infer(Node *n)
{
    int axis;
    int64_t nfft, nout;
    if (dft_params(n, &axis, &nfft, &nout)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int64_t dims[KIR_MAX_RANK];
    memcpy(dims, xt->dims, sizeof dims);
    dims[axis] = nout;
    dims[xt->rank - 1] = 2;
    return set_out(n, 0, xt->dt, xt->rank, dims);
}

int dft_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int axis;
    int64_t nfft, nout;
    if (dft_params(n, &axis, &nfft, &nout)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int r = xt->rank;
    int cplx = xt->dims[r - 1] == 2;
    int64_t outer = prod(xt->dims, 0, axis), len = xt->dims[axis];
    int64_t inner = prod(xt->dims, axis + 1, r - 1), comp = xt->dims[r - 1];
    int X = lw_in(L, 0), Y = lw_out(L, 0);
    if (X < 0 || Y < 0) return -1;
    if (outer * inner == 0) return 0;
    int inverse = attr_i(n, "inverse", 0) != 0;
    const DType F = DT_F64;
    KExpr *o = kvar(k, kfor_n(k, outer, KL_PARALLEL));
    KExpr *in = kvar(k, kfor_n(k, inner, KL_SERIAL));
    KExpr *kk = kvar(k, kfor_n(k, nout, KL_SERIAL));
    int re = kdecl(k, F, fc(k, F, 0.0)), im = kdecl(k, F, fc(k, F, 0.0));
    DftCtx c = { X, kmuli(k, kadd(k, kmuli(k, o, len * inner), in), comp), inner * comp, cplx, -1 };
    /* dft_length shorter than the axis truncates the signal, longer pads it with zeros */
    dft_bin(k, re, im, kk, len < nfft ? len : nfft, nfft, inverse ? 1.0 : -1.0, dft_load, &c,
            cplx);
    KExpr *yre = kvar(k, re), *yim = kvar(k, im);
    if (inverse) {
        yre = fdiv(k, yre, fc(k, F, (double)nfft));
        yim = fdiv(k, yim, fc(k, F, (double)nfft));
    }
    KExpr *oi = kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, o, nout), kk), inner), in), 2);
    kstore(k, Y, oi, kcast(k, xt->dt, yre));
    kstore(k, Y, kaddi(k, oi, 1), kcast(k, xt->dt, yim));
    kend_n(k, 3);
    return 0;
}

static int stft_params(Node *n, int64_t *step, int64_t *flen, int64_t *frames, int64_t *bins)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input signal");
    const Type *xt = &x->type;
    if (xt->dt != DT_F32 && xt->dt != DT_F64)
        return node_err(n, "signal type %s is not supported (float, double)", dt_name(xt->dt));
    if (xt->rank != 3 || (xt->dims[2] != 1 && xt->dims[2] != 2))
        return node_err(n, "signal must be [batch, length, 1 or 2]");
    if (const_scalar(n, 1, "frame_step", step)) return -1;
    if (*step <= 0) return node_err(n, "frame_step must be positive");
    Value *w = node_in(n, 2);
    if (w) {
        if (w->type.rank != 1) return node_err(n, "window must be 1-D");
        if (w->type.dt != DT_F32 && w->type.dt != DT_F64)
            return node_err(n, "window type %s is not supported", dt_name(w->type.dt));
    }
    if (node_in(n, 3)) {
        if (const_scalar(n, 3, "frame_length", flen)) return -1;
        if (w && w->type.dims[0] != *flen)
            return node_err(n, "window length %lld differs from frame_length %lld",
                            (long long)w->type.dims[0], (long long)*flen);
    } else if (w) {
        *flen = w->type.dims[0];
    } else {
        return node_err(n, "one of window and frame_length must be given");
    }
    if (*flen <= 0 || *flen > xt->dims[1])
        return node_err(n, "frame_length %lld does not fit the signal length %lld",
                        (long long)*flen, (long long)xt->dims[1]);
    int onesided = attr_i(n, "onesided", 1) != 0;
    if (onesided && xt->dims[2] == 2) return node_err(n, "onesided needs a real signal");
    *frames = (xt->dims[1] - *flen) / *step + 1;
    *bins = onesided ? *flen / 2 + 1 : *flen;
    return 0;
}

int stft_infer(Node *n)
{
    int64_t step = 0, flen = 0, frames = 0, bins = 0;
    if (stft_params(n, &step, &flen, &frames, &bins)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int64_t dims[4] = { xt->dims[0], frames, bins, 2 };
    return set_out(n, 0, xt->dt, 4, dims);
}

int stft_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int64_t step = 0, flen = 0, frames = 0, bins = 0;
    if (stft_params(n, &step, &flen, &frames, &bins)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int64_t B = xt->dims[0], len = xt->dims[1], comp = xt->dims[2];
    int X = lw_in(L, 0), Y = lw_out(L, 0), W = node_in(n, 2) ? lw_in(L, 2) : -1;
    if (X < 0 || Y < 0 || (node_in(n, 2) && W < 0)) return -1;
    if (B == 0) return 0;
    const DType F = DT_F64;
    KExpr *b = kvar(k, kfor_n(k, B, KL_PARALLEL));
    KExpr *f = kvar(k, kfor_n(k, frames, KL_SERIAL));
    KExpr *kk = kvar(k, kfor_n(k, bins, KL_SERIAL));
    int re = kdecl(k, F, fc(k, F, 0.0)), im = kdecl(k, F, fc(k, F, 0.0));
    DftCtx c = { X, kmuli(k, kadd(k, kmuli(k, b, len), kmuli(k, f, step)), comp), comp,
                 comp == 2, W };
    dft_bin(k, re, im, kk, flen, flen, -1.0, dft_load, &c, comp == 2);
    KExpr *oi = kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, b, frames), f), bins), kk), 2);
    kstore(k, Y, oi, kcast(k, xt->dt, kvar(k, re)));
    kstore(k, Y, kaddi(k, oi, 1), kcast(k, xt->dt, kvar(k, im)));
    kend_n(k, 3);
    return 0;
}

/* ---- MelWeightMatrix ----------------------------------------------------------------- */

static int mel_params(Node *n, int64_t *nmel, int64_t *dftlen, DType *dt)
{
    if (const_scalar(n, 0, "num_mel_bins", nmel)) return -1;
    if (const_scalar(n, 1, "dft_length", dftlen)) return -1;
    if (*nmel <= 0 || *nmel > (1 << 20)) return node_err(n, "invalid num_mel_bins");
    if (*dftlen <= 0 || *dftlen > (1 << 24)) return node_err(n, "invalid dft_length");
    Value *sr = node_in(n, 2), *lo = node_in(n, 3), *hi = node_in(n, 4);
    if (!sr || !lo || !hi) return node_err(n, "expects 5 inputs");
    if (!dt_is_int(sr->type.dt) || type_numel(&sr->type) != 1)
        return node_err(n, "sample_rate must be an integer scalar");
    if (!dt_is_float(lo->type.dt) || !dt_supported(lo->type.dt) || type_numel(&lo->type) != 1 ||
        lo->type.dt != hi->type.dt || type_numel(&hi->type) != 1)
        return node_err(n, "lower_edge_hertz and upper_edge_hertz must be float scalars");
    *dt = (DType)attr_i(n, "output_datatype", DT_F32);
    if (!is_num_dt(*dt)) return node_err(n, "output_datatype %d is not supported", (int)*dt);
    return 0;
}

int mel_infer(Node *n)
{
    int64_t nmel, dftlen;
    DType dt;
    if (mel_params(n, &nmel, &dftlen, &dt)) return -1;
    int64_t dims[2] = { dftlen / 2 + 1, nmel };
    return set_out(n, 0, dt, 2, dims);
}

/* Triangular filters between frequency bins spaced evenly in mel, as the ONNX reference
 * computes them (edges in the hertz inputs' type, bins in double, then floored). */
int mel_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int64_t nmel, dftlen;
    DType dt;
    if (mel_params(n, &nmel, &dftlen, &dt)) return -1;
    int64_t nspec = dftlen / 2 + 1;
    int SR = lw_in(L, 2), LO = lw_in(L, 3), HI = lw_in(L, 4), Y = lw_out(L, 0);
    if (SR < 0 || LO < 0 || HI < 0 || Y < 0) return -1;
    DType ht = node_in(n, 3)->type.dt;
    const DType F = DT_F64;
    int fb = lw_temp(L, DT_I64, nmel + 2);
    if (fb < 0) return -1;
    /* mel(f) = 2595 log10(1 + f / 700) */
#define MEL(v) fmul(k, fc(k, ht, 2595.0), kcast(k, ht, fdiv(k, kun(k, KU_LOG, kcast(k, F, \
                    fadd(k, fc(k, ht, 1.0), fdiv(k, v, fc(k, ht, 700.0))))), fc(k, F, log(10.0)))))
    int lowm = kdecl(k, ht, MEL(kload(k, LO, kc_idx(k, 0))));
    int highm = kdecl(k, ht, MEL(kload(k, HI, kc_idx(k, 0))));
#undef MEL
    int step = kdecl(k, ht, fdiv(k, fsub(k, kvar(k, highm), kvar(k, lowm)),
                                 fc(k, ht, (double)(nmel + 2))));
    KExpr *sr = kcast(k, F, kload(k, SR, kc_idx(k, 0)));
    {
        KExpr *i = kvar(k, kfor_n(k, nmel + 2, KL_SERIAL));
        KExpr *m = fadd(k, fmul(k, kcast(k, F, i), kcast(k, F, kvar(k, step))),
                        kcast(k, F, kvar(k, lowm)));
        KExpr *hz = fmul(k, fc(k, F, 700.0),
                         fsub(k, kbin(k, KB_POW, fc(k, F, 10.0), fdiv(k, m, fc(k, F, 2595.0))),
                              fc(k, F, 1.0)));
        KExpr *bin = kun(k, KU_FLOOR, fdiv(k, fmul(k, fc(k, F, (double)(dftlen + 1)), hz), sr));
        kstore(k, fb, i, kcast(k, DT_I64, bin));
        kend(k);
    }
    {
        KExpr *i = kvar(k, kfor_n(k, nspec * nmel, KL_VECTOR));
        kstore(k, Y, i, kc(k, dt, 0.0));
        kend(k);
    }
    KExpr *i = kvar(k, kfor_n(k, nmel, KL_SERIAL));
    int lv = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, fb, i)));
    int cv = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, fb, kaddi(k, i, 1))));
    int hv = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, fb, kaddi(k, i, 2))));
    KExpr *l = kvar(k, lv), *c = kvar(k, cv), *h = kvar(k, hv);
    /* rows outside [0, nspec) are dropped rather than written out of bounds */
#define ROWLO(e) kbin(k, KB_MAX, e, kc_idx(k, 0))
#define ROWHI(e) kbin(k, KB_MIN, e, kc_idx(k, nspec))
    int up = kdecl(k, DT_IDX, ksub(k, c, l));
    kif(k, kbin(k, KB_EQ, kvar(k, up), kc_idx(k, 0)));
    kif(k, kbin(k, KB_AND, kbin(k, KB_GE, c, kc_idx(k, 0)), kbin(k, KB_LT, c, kc_idx(k, nspec))));
    kstore(k, Y, kadd(k, kmuli(k, c, nmel), i), kc(k, dt, 1.0));
    kend(k);
    kelse(k);
    {
        KExpr *j = kvar(k, kfor(k, ROWLO(l), ROWHI(kaddi(k, c, 1)), KL_SERIAL));
        kstore(k, Y, kadd(k, kmuli(k, j, nmel), i),
               kcast(k, dt, fdiv(k, kcast(k, F, ksub(k, j, l)), kcast(k, F, kvar(k, up)))));
        kend(k);
    }
    kend(k);
    int down = kdecl(k, DT_IDX, ksub(k, h, c));
    kif(k, kbin(k, KB_GT, kvar(k, down), kc_idx(k, 0)));
    {
        KExpr *j = kvar(k, kfor(k, ROWLO(c), ROWHI(h), KL_SERIAL));
        kstore(k, Y, kadd(k, kmuli(k, j, nmel), i),
               kcast(k, dt, fdiv(k, kcast(k, F, ksub(k, h, j)), kcast(k, F, kvar(k, down)))));
        kend(k);
    }
    kend(k);
#undef ROWLO
#undef ROWHI
    kend(k);
    return 0;
}

/* ---- Det ----------------------------------------------------------------------------- */

/* Every loop runs over all M rows/columns with a guard instead of starting at c + 1, so
 * trip counts stay compile-time constants (target hls needs them). */

int det_infer(Node *n)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input");
    const Type *xt = &x->type;
    if (xt->dt != DT_F32 && xt->dt != DT_F64)
        return node_err(n, "input type %s is not supported (float, double)", dt_name(xt->dt));
    if (xt->rank < 2 || xt->dims[xt->rank - 1] != xt->dims[xt->rank - 2])
        return node_err(n, "input must be [..., M, M]");
    return set_out(n, 0, xt->dt, xt->rank - 2, xt->dims);
}

int det_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *xt = &node_in(n, 0)->type;
    int64_t M = xt->dims[xt->rank - 1], B = prod(xt->dims, 0, xt->rank - 2);
    int X = lw_in(L, 0), Y = lw_out(L, 0);
    if (X < 0 || Y < 0) return -1;
    if (B == 0) return 0;
    const DType F = DT_F64;
    int A = lw_temp(L, F, M * M > 0 ? M * M : 1);
    if (A < 0) return -1;
    KExpr *b = kvar(k, kfor_n(k, B, KL_SERIAL));
    {
        KExpr *e = kvar(k, kfor_n(k, M * M, KL_VECTOR));
        kstore(k, A, e, kcast(k, F, kload(k, X, kadd(k, kmuli(k, b, M * M), e))));
        kend(k);
    }
#define AT(r, c) kadd(k, kmuli(k, r, M), c)
    int det = kdecl(k, F, fc(k, F, 1.0));
    KExpr *c = kvar(k, kfor_n(k, M, KL_SERIAL));
    /* pivot: the largest magnitude in column c at or below row c */
    int pr = kdecl(k, DT_IDX, c), pv = kdecl(k, F, kun(k, KU_ABS, kload(k, A, AT(c, c))));
    {
        KExpr *r = kvar(k, kfor_n(k, M, KL_REDUCE));
        KExpr *v = kun(k, KU_ABS, kload(k, A, AT(r, c)));
        kif(k, kbin(k, KB_AND, kbin(k, KB_GT, r, c), kbin(k, KB_GT, v, kvar(k, pv))));
        kset(k, pv, kun(k, KU_ABS, kload(k, A, AT(r, c))));
        kset(k, pr, r);
        kend(k);
        kend(k);
    }
    kif(k, kbin(k, KB_NE, kvar(k, pr), c));
    {
        KExpr *j = kvar(k, kfor_n(k, M, KL_SERIAL));
        int tv = kdecl(k, F, kload(k, A, AT(c, j)));
        kstore(k, A, AT(c, j), kload(k, A, AT(kvar(k, pr), j)));
        kstore(k, A, AT(kvar(k, pr), j), kvar(k, tv));
        kend(k);
        kset(k, det, kun(k, KU_NEG, kvar(k, det)));
    }
    kend(k);
    int piv = kdecl(k, F, kload(k, A, AT(c, c)));
    kset(k, det, fmul(k, kvar(k, det), kvar(k, piv)));
    /* a zero pivot makes the determinant 0; skip the elimination that would divide by it */
    kif(k, kbin(k, KB_NE, kvar(k, piv), fc(k, F, 0.0)));
    {
        KExpr *r = kvar(k, kfor_n(k, M, KL_SERIAL));
        kif(k, kbin(k, KB_GT, r, c));
        int f = kdecl(k, F, fdiv(k, kload(k, A, AT(r, c)), kvar(k, piv)));
        KExpr *j = kvar(k, kfor_n(k, M, KL_SERIAL));
        kif(k, kbin(k, KB_GT, j, c));
        kstore(k, A, AT(r, j), fsub(k, kload(k, A, AT(r, j)),
                                    fmul(k, kvar(k, f), kload(k, A, AT(c, j)))));
        kend_n(k, 4);
    }
    kend(k);
    kend(k); /* c */
#undef AT
    kstore(k, Y, b, kcast(k, xt->dt, kvar(k, det)));
    kend(k);
    return 0;
}

/* ---- QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear ----------------------- */

static int q_int(DType t)
{
    return t == DT_U8 || t == DT_I8 || t == DT_U16 || t == DT_I16 ||
           (dt_is_lowbit(t) && t != DT_F8E8M0);
}

/* Per-tensor (scalar scale), per-axis (1-D scale along `axis`, *peraxis = 1) or blocked
 * (opset 21: scale of x's rank, axis `axis` cut into blocks of *block, *peraxis = 2). */
static int quant_params(Node *n, int *axis, int *peraxis, int64_t *block)
{
    Value *x = node_in(n, 0), *s = node_in(n, 1), *z = node_in(n, 2);
    if (!x || !s) return node_err(n, "expects inputs x and scale");
    const Type *xt = &x->type;
    /* DequantizeLinear (opset 19+) gives the scale's type, computed in float32 */
    int s_ok = s->type.dt == DT_F32 || (n->op == OP_DequantizeLinear && n->opset >= 19 &&
                                        (s->type.dt == DT_F16 || s->type.dt == DT_BF16));
    if (!s_ok) return node_err(n, "scale must be float32%s, got %s",
                               n->op == OP_DequantizeLinear && n->opset >= 19 ?
                               ", float16 or bfloat16" : "", dt_name(s->type.dt));
    if (n->op == OP_QuantizeLinear) {
        if (xt->dt != DT_F32 && xt->dt != DT_I32)
            return node_err(n, "input type %s is not supported (float32, int32)", dt_name(xt->dt));
        if (z && !q_int(z->type.dt))
            return node_err(n, "zero point type %s is not supported (uint8, int8, uint16, int16, "
                            "int4, uint4, int2, uint2, float8, float4e2m1)",
                            dt_name(z->type.dt));
    } else {
        if (!q_int(xt->dt) && xt->dt != DT_I32)
            return node_err(n, "input type %s is not supported (uint8, int8, uint16, int16, "
                            "int32, int4, uint4, int2, uint2, float8, float4e2m1)",
                            dt_name(xt->dt));
        if (z && z->type.dt != xt->dt) return node_err(n, "zero point type differs from x");
    }
    *peraxis = 0;
    *axis = 0;
    *block = 0;
    int64_t ns = type_numel(&s->type);
    int64_t bs = n->opset >= 21 ? attr_i(n, "block_size", 0) : 0;
    if (bs > 0) {
        if (s->type.rank != xt->rank || xt->rank == 0)
            return node_err(n, "blocked quantization needs a scale of x's rank");
        if (norm_axis(n, attr_i(n, "axis", 1), xt->rank, axis)) return -1;
        for (int d = 0; d < xt->rank; d++) {
            int64_t want = d == *axis ? (xt->dims[d] + bs - 1) / bs : xt->dims[d];
            if (s->type.dims[d] != want)
                return node_err(n, "scale dim %d is %lld, block_size %lld needs %lld", d,
                                (long long)s->type.dims[d], (long long)bs, (long long)want);
        }
        if (z && (z->type.rank != xt->rank ||
                  memcmp(z->type.dims, s->type.dims, sizeof(int64_t) * (size_t)xt->rank)))
            return node_err(n, "zero point and scale differ in shape");
        *peraxis = 2;
        *block = bs;
        return 0;
    }
    if (s->type.rank == 0 || (s->type.rank == 1 && ns == 1 && n->opset < 13)) {
        if (ns != 1) return node_err(n, "scale must have one element");
    } else {
        if (n->opset < 13 || s->type.rank != 1)
            return node_err(n, "scale must be a scalar%s", n->opset < 13 ? "" : " or 1-D");
        if (norm_axis(n, attr_i(n, "axis", 1), xt->rank, axis)) return -1;
        if (xt->rank == 0 || ns != xt->dims[*axis])
            return node_err(n, "scale has %lld elements, axis %d has %lld", (long long)ns,
                            *axis, (long long)(xt->rank ? xt->dims[*axis] : 0));
        *peraxis = 1;
    }
    if (z && type_numel(&z->type) != ns) return node_err(n, "zero point and scale differ in size");
    return 0;
}

int quant_infer(Node *n)
{
    int axis, per;
    int64_t bs;
    if (quant_params(n, &axis, &per, &bs)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    Value *z = node_in(n, 2);
    /* without a zero point, opset 21's output_dtype names the type (uint8 by default) */
    DType qt = z ? z->type.dt : (DType)attr_i(n, "output_dtype", DT_U8);
    if (qt == DT_UNDEF) qt = DT_U8;
    if (n->op == OP_QuantizeLinear && !q_int(qt))
        return node_err(n, "output_dtype %s is not supported (uint8, int8, uint16, int16, "
                        "int4, uint4, int2, uint2, float8, float4e2m1)", dt_name(qt));
    DType ot = n->op == OP_QuantizeLinear ? qt : node_in(n, 1)->type.dt;
    return set_out(n, 0, ot, xt->rank, xt->dims);
}

/* rint(v) + zp, saturated to the range of t, then converted (v: float). */
static KExpr *saturate_q(KB *k, DType t, KExpr *v)
{
    DType ft = v->t;
    double lo = t == DT_U8 || t == DT_U16 ? 0 : t == DT_I8 ? -128 : -32768;
    double hi = t == DT_U8 ? 255 : t == DT_I8 ? 127 : t == DT_U16 ? 65535 : 32767;
    v = kbin(k, KB_MAX, kbin(k, KB_MIN, v, fc(k, ft, hi)), fc(k, ft, lo));
    return kcast(k, t, v);
}

int quant_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int axis, per;
    int64_t bs;
    if (quant_params(n, &axis, &per, &bs)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int X = lw_in(L, 0), S = lw_in(L, 1), Z = node_in(n, 2) ? lw_in(L, 2) : -1, Y = lw_out(L, 0);
    if (X < 0 || S < 0 || Y < 0 || (node_in(n, 2) && Z < 0)) return -1;
    int64_t total = type_numel(xt);
    if (total == 0) return 0;
    int64_t inner = per ? prod(xt->dims, axis + 1, xt->rank) : 1;
    int64_t len = per ? xt->dims[axis] : 1;
    DType yt = node_out(n, 0)->type.dt;
    const DType F = DT_F32;
    int iv = kfor_n(k, total, KL_VECTOR);
    KExpr *i = kvar(k, iv);
    KExpr *q = per ? kbin(k, KB_REM, kbin(k, KB_DIV, i, kc_idx(k, inner)), kc_idx(k, len))
                   : kc_idx(k, 0);
    if (per == 2) {
        /* the scale element of x's (outer, a, in): (outer, a / block, in) */
        int64_t slen = (len + bs - 1) / bs;
        KExpr *outer = kbin(k, KB_DIV, kvar(k, iv), kc_idx(k, len * inner));
        KExpr *in = kbin(k, KB_REM, kvar(k, iv), kc_idx(k, inner));
        KExpr *blk = kbin(k, KB_DIV, q, kc_idx(k, bs));
        q = kadd(k, kmuli(k, kadd(k, kmuli(k, outer, slen), blk), inner), in);
        i = kvar(k, iv);
    }
    int qv = kdecl(k, DT_IDX, q);
    q = kvar(k, qv);
    KExpr *s = kcast(k, F, kload(k, S, q));
    DType zt = Z >= 0 ? node_in(n, 2)->type.dt : yt;
    if (n->op == OP_QuantizeLinear && dt_is_lowfloat(yt)) {
        /* float8/float4: a conversion of x / scale (a float zero point must be zero) */
        KExpr *v = fdiv(k, kcast(k, F, kload(k, X, i)), s);
        if (Z >= 0) v = fadd(k, v, klow_decode(k, zt, kload(k, Z, kvar(k, qv))));
        kstore(k, Y, i, klow_quantize(k, yt, v, (int)attr_i(n, "saturate", 1)));
    } else if (n->op == OP_QuantizeLinear) {
        KExpr *v = kun(k, KU_RINT, fdiv(k, kcast(k, F, kload(k, X, i)), s));
        if (Z >= 0) v = fadd(k, v, kcast(k, F, kload(k, Z, kvar(k, qv))));
        kstore(k, Y, i, dt_is_lowbit(yt) ? klow_quantize(k, yt, v, 1) : saturate_q(k, yt, v));
    } else if (dt_is_lowfloat(xt->dt)) {
        KExpr *x = klow_decode(k, xt->dt, kload(k, X, i));
        if (Z >= 0) x = fsub(k, x, klow_decode(k, zt, kload(k, Z, kvar(k, qv))));
        kstore(k, Y, i, kcast(k, yt, fmul(k, x, s)));
    } else {
        /* int32 inputs can exceed float's exact range, so the difference is taken in
         * 64-bit integers */
        KExpr *x = kcast(k, DT_I64, kload(k, X, i));
        if (Z >= 0) x = kbin(k, KB_SUB, x, kcast(k, DT_I64, kload(k, Z, kvar(k, qv))));
        /* int4/uint4/int2/uint2 bytes hold the value itself: nothing to decode */
        kstore(k, Y, i, kcast(k, yt, fmul(k, kcast(k, F, x), s)));
    }
    kend(k);
    return 0;
}

int dynquant_infer(Node *n)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input");
    if (x->type.dt != DT_F32) return node_err(n, "input must be float32, got %s",
                                              dt_name(x->type.dt));
    if (set_out(n, 0, DT_U8, x->type.rank, x->type.dims)) return -1;
    if (node_out(n, 1) && set_out(n, 1, DT_F32, 0, NULL)) return -1;
    if (node_out(n, 2) && set_out(n, 2, DT_U8, 0, NULL)) return -1;
    return 0;
}

/* scale = (max(0, max x) - min(0, min x)) / 255, zero point = sat(rint(-min / scale)),
 * y = sat(rint(x / scale) + zero point), as the ONNX reference. */
int dynquant_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *xt = &node_in(n, 0)->type;
    int64_t total = type_numel(xt);
    int X = lw_in(L, 0), Y = lw_out(L, 0);
    int S = node_out(n, 1) ? lw_out(L, 1) : -1, Z = node_out(n, 2) ? lw_out(L, 2) : -1;
    if (X < 0 || Y < 0 || (node_out(n, 1) && S < 0) || (node_out(n, 2) && Z < 0)) return -1;
    const DType F = DT_F32;
    int mn = kdecl(k, F, fc(k, F, 0.0)), mx = kdecl(k, F, fc(k, F, 0.0));
    {
        KExpr *i = kvar(k, kfor_n(k, total, KL_REDUCE));
        int v = kdecl(k, F, kload(k, X, i));
        kset(k, mn, kbin(k, KB_MIN, kvar(k, mn), kvar(k, v)));
        kset(k, mx, kbin(k, KB_MAX, kvar(k, mx), kvar(k, v)));
        kend(k);
    }
    int sc = kdecl(k, F, fdiv(k, fsub(k, kvar(k, mx), kvar(k, mn)), fc(k, F, 255.0)));
    /* all zeros: scale 0; every quantity is then 0 instead of 0/0 */
    int ok = kdecl(k, DT_BOOL, kbin(k, KB_NE, kvar(k, sc), fc(k, F, 0.0)));
    KExpr *safe = ksel(k, kvar(k, ok), kvar(k, sc), fc(k, F, 1.0));
    int zp = kdecl(k, F, kbin(k, KB_MAX, kbin(k, KB_MIN, kun(k, KU_RINT,
                             fdiv(k, fsub(k, fc(k, F, 0.0), kvar(k, mn)), safe)),
                             fc(k, F, 255.0)), fc(k, F, 0.0)));
    if (S >= 0) kstore(k, S, kc_idx(k, 0), kvar(k, sc));
    if (Z >= 0) kstore(k, Z, kc_idx(k, 0), kcast(k, DT_U8, kvar(k, zp)));
    KExpr *i = kvar(k, kfor_n(k, total, KL_VECTOR));
    KExpr *v = fadd(k, kun(k, KU_RINT, fdiv(k, kload(k, X, i), safe)), kvar(k, zp));
    kstore(k, Y, i, ksel(k, kvar(k, ok), saturate_q(k, DT_U8, v), kc_int(k, DT_U8, 0)));
    kend(k);
    return 0;
}
