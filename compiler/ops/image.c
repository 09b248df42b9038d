/* image.c — the image resampling family: Resize (and its predecessor Upsample), GridSample,
 * the AffineGrid that feeds it, and RoiAlign.
 *
 * All three reduce to "for each output pixel, a few taps of the input with weights", and
 * the weights depend only on coordinates. Resize is separable, so its taps are computed
 * once per axis into small scratch tables (index and weight per output coordinate) before
 * the main loop nest; coordinates are computed at run time in double, in the same order of
 * operations as the ONNX reference, so a runtime roi (tf_crop_and_resize) needs nothing
 * special and nearest-mode rounding ties fall the same way. GridSample and RoiAlign read
 * their coordinates from data, so they compute taps inside the loop nest.
 *
 * Every load from the input uses a clamped index: the out-of-range taps are masked by a
 * select afterwards, never skipped, because a back end may evaluate both arms of a select. */
#include <math.h>
#include <string.h>
#include "../onnxcc.h"

/* ---- small expression helpers ------------------------------------------------------ */

static KExpr *fc(KB *k, DType t, double v) { return kc_float(k, t, v); }
static KExpr *fadd(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_ADD, a, b); }
static KExpr *fsub(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_SUB, a, b); }
static KExpr *fmul(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_MUL, a, b); }
static KExpr *fdiv(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_DIV, a, b); }
static KExpr *band(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_AND, a, b); }

/* max(lo, min(hi, e)) on DT_IDX */
static KExpr *iclamp(KB *k, KExpr *e, int64_t lo, int64_t hi)
{
    return kbin(k, KB_MAX, kbin(k, KB_MIN, e, kc_idx(k, hi)), kc_idx(k, lo));
}

/* lo <= e < hi on DT_IDX */
static KExpr *iin(KB *k, KExpr *e, int64_t lo, int64_t hi)
{
    return band(k, kbin(k, KB_GE, e, kc_idx(k, lo)), kbin(k, KB_LT, e, kc_idx(k, hi)));
}

static int is_num_dt(DType t)
{
    return t == DT_F32 || t == DT_F64 || (dt_is_int(t) && t != DT_IDX);
}

/* Keys (cubic convolution) weights of the 4 taps around a point with fraction t in [0,1],
 * as the ONNX reference and PyTorch write them. */
static void cubic_weights(KB *k, DType t, KExpr *r, double A, KExpr **w)
{
    KExpr *a = fc(k, t, A), *one = fc(k, t, 1.0);
    KExpr *r1 = fadd(k, r, one), *q = fsub(k, one, r), *q1 = fadd(k, q, one);
    /* far taps: ((A*x - 5A)*x + 8A)*x - 4A; near taps: ((A+2)*x - (A+3))*x*x + 1 */
    w[0] = fsub(k, fmul(k, fadd(k, fmul(k, fsub(k, fmul(k, a, r1), fc(k, t, 5 * A)), r1),
                                fc(k, t, 8 * A)), r1), fc(k, t, 4 * A));
    w[1] = fadd(k, fmul(k, fmul(k, fsub(k, fmul(k, fc(k, t, A + 2), r), fc(k, t, A + 3)), r), r),
                one);
    w[2] = fadd(k, fmul(k, fmul(k, fsub(k, fmul(k, fc(k, t, A + 2), q), fc(k, t, A + 3)), q), q),
                one);
    w[3] = fsub(k, fmul(k, fadd(k, fmul(k, fsub(k, fmul(k, a, q1), fc(k, t, 5 * A)), q1),
                                fc(k, t, 8 * A)), q1), fc(k, t, 4 * A));
}

/* ---- Resize, Upsample -------------------------------------------------------------- */

/* The antialiased filter's value at distance a (already multiplied by the scale): the
 * triangle max(0, 1 - |a|) for linear, Keys' cubic kernel (zero from |a| = 2) for cubic. */
static KExpr *aa_filter(KB *k, DType t, int cubic, double A, KExpr *a)
{
    KExpr *x = kun(k, KU_ABS, a);
    if (!cubic) return kbin(k, KB_MAX, fc(k, t, 0.0), fsub(k, fc(k, t, 1.0), x));
    KExpr *x2 = fmul(k, x, x), *x3 = fmul(k, x2, x);
    KExpr *near = fadd(k, fsub(k, fmul(k, fc(k, t, A + 2), x3), fmul(k, fc(k, t, A + 3), x2)),
                       fc(k, t, 1.0));
    KExpr *far = fsub(k, fadd(k, fsub(k, fmul(k, fc(k, t, A), x3), fmul(k, fc(k, t, 5 * A), x2)),
                              fmul(k, fc(k, t, 8 * A), x)),
                      fc(k, t, 4 * A));
    return ksel(k, kbin(k, KB_LE, x, fc(k, t, 1.0)), near,
                ksel(k, kbin(k, KB_LT, x, fc(k, t, 2.0)), far, fc(k, t, 0.0)));
}

enum { RZ_NEAREST, RZ_LINEAR, RZ_CUBIC };
enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC,
       CT_TF_HALF_PIXEL_FOR_NN, CT_TF_CROP_AND_RESIZE, CT_HALF_PIXEL_SYMMETRIC };
enum { KA_STRETCH, KA_NOT_LARGER, KA_NOT_SMALLER };
/* Taps of one output coordinate, unrolled: an antialiased downscale by 1/16 (cubic) or
 * 1/32 (linear) at most, far past what image pipelines use. */
#define RZ_MAX_TAPS 64
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL };

typedef struct RzParams {
    int rank;
    int64_t in[KIR_MAX_RANK], out[KIR_MAX_RANK];
    double scale[KIR_MAX_RANK];
    int mode, ctm, nearest, exclude, antialias;
    double cubic_a, extrap;
    int roi;              /* input index of a roi tensor used by tf_crop_and_resize, or -1 */
    int nax;              /* entries of scales / sizes / half the roi: the axes resized */
    int roiax[KIR_MAX_RANK]; /* axis d's position in those lists, or -1 (kept as it is) */
} RzParams;

static int pick(const char *s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* Input i when present and non-empty (ONNX marks an unused optional input with "" or an
 * empty tensor). */
static Value *rz_given(Node *n, int i)
{
    Value *v = i < n->nin ? node_in(n, i) : NULL;
    return v && type_numel(&v->type) > 0 ? v : NULL;
}

static int rz_params(Node *n, RzParams *p)
{
    memset(p, 0, sizeof *p);
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input X");
    const Type *xt = &x->type;
    if (!is_num_dt(xt->dt))
        return node_err(n, "input type %s is not supported", dt_name(xt->dt));
    if (xt->rank < 1) return node_err(n, "input must have rank >= 1");
    p->rank = xt->rank;
    p->roi = -1;
    memcpy(p->in, xt->dims, sizeof(int64_t) * (size_t)xt->rank);

    static const char *const modes[] = { "nearest", "linear", "cubic" };
    const char *mode = attr_s(n, "mode", "nearest");
    p->mode = pick(mode, modes, 3);
    if (n->op == OP_Upsample && !strcmp(mode, "bilinear")) p->mode = RZ_LINEAR;
    if (p->mode < 0 || (p->mode == RZ_CUBIC && (n->op == OP_Upsample || n->opset < 11)))
        return node_err(n, "unsupported mode '%s'", mode);

    /* Upsample and Resize-10 map coordinates asymmetrically and take the floor in
     * nearest mode; Resize-11 made both attributes. */
    int legacy = n->op == OP_Upsample || n->opset < 11;
    p->ctm = CT_ASYMMETRIC;
    p->nearest = NM_FLOOR;
    p->cubic_a = -0.75;
    if (!legacy) {
        static const char *const ctms[] = { "half_pixel", "pytorch_half_pixel", "align_corners",
                                            "asymmetric", "tf_half_pixel_for_nn",
                                            "tf_crop_and_resize", "half_pixel_symmetric" };
        static const char *const nms[] = { "round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil" };
        const char *ctm = attr_s(n, "coordinate_transformation_mode", "half_pixel");
        const char *nm = attr_s(n, "nearest_mode", "round_prefer_floor");
        p->ctm = pick(ctm, ctms, 7);
        if (p->ctm < 0) return node_err(n, "unsupported coordinate_transformation_mode '%s'", ctm);
        p->nearest = pick(nm, nms, 4);
        if (p->nearest < 0) return node_err(n, "unsupported nearest_mode '%s'", nm);
        p->cubic_a = attr_f(n, "cubic_coeff_a", -0.75f);
        p->exclude = (int)attr_i(n, "exclude_outside", 0);
        p->extrap = attr_f(n, "extrapolation_value", 0.0f);
        p->antialias = attr_i(n, "antialias", 0) != 0 && p->mode != RZ_NEAREST;
    }
    /* axes (opset 18): scales, sizes and roi name only these axes; the others keep their
     * extent (scale 1, roi [0, 1]) */
    p->nax = p->rank;
    for (int d = 0; d < p->rank; d++) p->roiax[d] = d;
    int nattr = 0;
    const int64_t *axes = legacy ? NULL : attr_ints(n, "axes", &nattr);
    if (axes) {
        if (nattr < 1 || nattr > p->rank)
            return node_err(n, "axes has %d entries, the input has rank %d", nattr, p->rank);
        for (int d = 0; d < p->rank; d++) p->roiax[d] = -1;
        for (int j = 0; j < nattr; j++) {
            int64_t a = axes[j] < 0 ? axes[j] + p->rank : axes[j];
            if (a < 0 || a >= p->rank)
                return node_err(n, "axis %lld is out of range for rank %d", (long long)axes[j],
                                p->rank);
            if (p->roiax[a] >= 0) return node_err(n, "axis %lld is listed twice", (long long)a);
            p->roiax[a] = j;
        }
        p->nax = nattr;
    }
    int keep = KA_STRETCH;
    if (!legacy) {
        static const char *const kars[] = { "stretch", "not_larger", "not_smaller" };
        const char *kar = attr_s(n, "keep_aspect_ratio_policy", "stretch");
        keep = pick(kar, kars, 3);
        if (keep < 0) return node_err(n, "unsupported keep_aspect_ratio_policy '%s'", kar);
    }
    for (int d = 0; d < p->rank; d++) {
        p->out[d] = p->in[d];
        p->scale[d] = 1.0;
    }

    /* scales: an attribute (Upsample-7), input 1 (Upsample-9, Resize-10) or input 2;
     * sizes: input 3 (Resize-11+). */
    const float *sattr = NULL;
    int nsattr = 0;
    Value *sv = NULL, *zv = NULL;
    if (n->op == OP_Upsample && n->opset < 9) {
        sattr = attr_floats(n, "scales", &nsattr);
        if (!sattr) return node_err(n, "missing scales attribute");
    } else if (legacy) {
        sv = rz_given(n, 1);
        if (!sv) return node_err(n, "missing scales input");
    } else {
        sv = rz_given(n, 2);
        zv = rz_given(n, 3);
        if (sv && zv) return node_err(n, "only one of scales and sizes may be given");
        if (!sv && !zv) return node_err(n, "one of scales and sizes must be given");
        if (p->ctm == CT_TF_CROP_AND_RESIZE) {
            Value *r = rz_given(n, 1);
            if (!r) return node_err(n, "tf_crop_and_resize needs the roi input");
            if (!dt_is_float(r->type.dt) || !dt_supported(r->type.dt))
                return node_err(n, "roi type %s is not supported", dt_name(r->type.dt));
            if (type_numel(&r->type) != 2 * p->nax)
                return node_err(n, "roi must have %d elements (twice the resized axes)",
                                2 * p->nax);
            p->roi = 1;
        }
    }
    if (zv) {
        if (!dt_is_int(zv->type.dt)) return node_err(n, "sizes must be int64");
        if (!zv->data)
            return node_need_const(n, zv, "sizes must be a compile-time constant (initializer "
                                   "or folded value): the output shape depends on it");
        int64_t *sz;
        int cnt = const_ints(n, 3, &sz);
        if (cnt < 0) return -1;
        if (cnt != p->nax)
            return node_err(n, "sizes has %d elements, %d axes are resized", cnt, p->nax);
        /* keep_aspect_ratio_policy: one scale for every resized axis, the smallest
         * (not_larger) or largest (not_smaller) of sizes / extent; the size is then that
         * scale times the extent, rounded half up */
        double common = keep == KA_NOT_LARGER ? INFINITY : 0;
        for (int d = 0; d < p->rank; d++) {
            int j = p->roiax[d];
            if (j < 0) continue;
            if (sz[j] <= 0 || sz[j] > ((int64_t)1 << 40))
                return node_err(n, "invalid size %lld for axis %d", (long long)sz[j], d);
            if (p->in[d] == 0) return node_err(n, "cannot resize an empty axis %d", d);
            double r = (double)sz[j] / (double)p->in[d];
            if (keep == KA_NOT_LARGER && r < common) common = r;
            if (keep == KA_NOT_SMALLER && r > common) common = r;
            p->out[d] = sz[j];
            p->scale[d] = r;
        }
        if (keep != KA_STRETCH)
            for (int d = 0; d < p->rank; d++) {
                if (p->roiax[d] < 0) continue;
                p->out[d] = (int64_t)floor(common * (double)p->in[d] + 0.5);
                if (p->out[d] < 1) return node_err(n, "axis %d would become empty", d);
                p->scale[d] = common;
            }
        return 0;
    }
    if (sv) {
        if (!dt_is_float(sv->type.dt)) return node_err(n, "scales must be float");
        if (!sv->data)
            return node_need_const(n, sv, "scales must be a compile-time constant (initializer "
                                   "or folded value): the output shape depends on it");
        if (type_numel(&sv->type) != p->nax)
            return node_err(n, "scales has %lld elements, %d axes are resized",
                            (long long)type_numel(&sv->type), p->nax);
    } else if (nsattr != p->rank) {
        return node_err(n, "scales has %d elements, the input has rank %d", nsattr, p->rank);
    }
    for (int d = 0; d < p->rank; d++) {
        if (p->roiax[d] < 0) continue;
        /* the reference works with the float32 value of the scale */
        double s = sv ? (double)(float)const_elem_f(sv, p->roiax[d]) : (double)sattr[d];
        if (!(s > 0) || !(s < 1e9)) return node_err(n, "invalid scale %g for axis %d", s, d);
        p->scale[d] = s;
        double o = floor(s * (double)p->in[d]);
        if (o > (double)((int64_t)1 << 40)) return node_err(n, "output too large on axis %d", d);
        p->out[d] = (int64_t)o;
        if (p->out[d] == 0 && p->in[d] > 0)
            return node_err(n, "scale %g makes axis %d empty", s, d);
    }
    return 0;
}

int resize_infer(Node *n)
{
    RzParams p;
    if (rz_params(n, &p)) return -1;
    return set_out(n, 0, node_in(n, 0)->type.dt, p.rank, p.out);
}

/* An axis whose coordinate transform is exactly x -> x needs no table. */
static int rz_identity(const RzParams *p, int d)
{
    if (p->in[d] != p->out[d] || p->scale[d] != 1.0) return 0;
    if (p->roiax[d] < 0) return 1; /* not resized at all, whatever the mode */
    return p->ctm == CT_HALF_PIXEL || p->ctm == CT_PYTORCH_HALF_PIXEL ||
           p->ctm == CT_ALIGN_CORNERS || p->ctm == CT_ASYMMETRIC;
}

/* The input coordinate of output coordinate o on axis d (DT_F64), in the reference's order
 * of operations. */
static KExpr *rz_coord(KB *k, const RzParams *p, int d, KExpr *o, int roibuf, DType roidt)
{
    const DType F = DT_F64;
    KExpr *x = kcast(k, F, o);
    double s = p->scale[d], in = (double)p->in[d], ow = s * in;
    switch (p->ctm) {
    case CT_PYTORCH_HALF_PIXEL:
        if (ow == 1) return fc(k, F, -0.5);
        /* fall through */
    case CT_HALF_PIXEL:
        return fsub(k, fdiv(k, fadd(k, x, fc(k, F, 0.5)), fc(k, F, s)), fc(k, F, 0.5));
    case CT_ALIGN_CORNERS:
        if (ow == 1) return fc(k, F, 0.0);
        return fdiv(k, kcast(k, F, kmuli(k, o, p->in[d] - 1)), fc(k, F, ow - 1));
    case CT_ASYMMETRIC:
        return fdiv(k, x, fc(k, F, s));
    case CT_TF_HALF_PIXEL_FOR_NN:
        return fdiv(k, fadd(k, x, fc(k, F, 0.5)), fc(k, F, s));
    case CT_HALF_PIXEL_SYMMETRIC: {
        /* half_pixel about the centre: shifted by what rounding the output extent lost */
        double adj = (double)p->out[d] / ow, off = in / 2 * (1 - adj);
        return fadd(k, fc(k, F, off),
                    fsub(k, fdiv(k, fadd(k, x, fc(k, F, 0.5)), fc(k, F, s)), fc(k, F, 0.5)));
    }
    default: { /* CT_TF_CROP_AND_RESIZE */
        int j = p->roiax[d];
        KExpr *r0 = kload(k, roibuf, kc_idx(k, j)), *r1 = kload(k, roibuf, kc_idx(k, p->nax + j));
        KExpr *span = kcast(k, F, fsub(k, r1, r0));
        KExpr *base = kcast(k, F, fmul(k, r0, fc(k, roidt, in - 1)));
        KExpr *c;
        if (ow == 1) c = fdiv(k, fmul(k, span, fc(k, F, in - 1)), fc(k, F, 2.0));
        else c = fdiv(k, fmul(k, fmul(k, x, span), fc(k, F, in - 1)), fc(k, F, ow - 1));
        return fadd(k, c, base);
    }
    }
}

int resize_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    RzParams p;
    if (rz_params(n, &p)) return -1;
    int X = lw_in(L, 0), Y = lw_out(L, 0);
    if (X < 0 || Y < 0) return -1;
    int rank = p.rank;
    int64_t nout = 1;
    for (int d = 0; d < rank; d++) nout *= p.out[d];
    if (nout == 0) return 0;
    int roibuf = -1;
    DType roidt = DT_F32;
    if (p.roi >= 0) {
        roibuf = lw_in(L, p.roi);
        if (roibuf < 0) return -1;
        roidt = node_in(n, p.roi)->type.dt;
    }
    const DType F = DT_F64;
    /* taps per axis: nearest picks one of its 2 neighbours while building the table.
     * Antialiasing a downscale (scale < 1) stretches the filter by 1/scale: the window is
     * then 2 - 2*start taps wide, start = floor(-support / scale) + 1, as the reference. */
    int nwins[KIR_MAX_RANK], ntaps[KIR_MAX_RANK], aa[KIR_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        double support = p.mode == RZ_CUBIC ? 2 : 1;
        aa[d] = p.antialias && p.scale[d] < 1.0;
        nwins[d] = aa[d] ? 2 - 2 * ((int)floor(-support / p.scale[d]) + 1) : 2 * (int)support;
        ntaps[d] = p.mode == RZ_NEAREST ? 1 : nwins[d];
        if (nwins[d] > RZ_MAX_TAPS)
            return node_err(n, "antialiasing axis %d at scale %g needs %d taps, more than %d",
                            d, p.scale[d], nwins[d], RZ_MAX_TAPS);
    }
    int ibuf[KIR_MAX_RANK], wbuf[KIR_MAX_RANK], okbuf[KIR_MAX_RANK];
    int64_t instride[KIR_MAX_RANK];
    for (int64_t d = rank - 1, s = 1; d >= 0; d--) {
        instride[d] = s;
        s *= p.in[d];
    }

    /* per-axis tables: input index (and weight) of each tap of each output coordinate */
    for (int d = 0; d < rank; d++) {
        ibuf[d] = wbuf[d] = okbuf[d] = -1;
        if (rz_identity(&p, d)) continue;
        int64_t in = p.in[d];
        int nwin = nwins[d], ntap = ntaps[d];
        ibuf[d] = lw_temp(L, DT_I64, p.out[d] * ntap);
        if (ibuf[d] < 0) return -1;
        if (p.mode != RZ_NEAREST && (wbuf[d] = lw_temp(L, F, p.out[d] * ntap)) < 0) return -1;
        if (p.ctm == CT_TF_CROP_AND_RESIZE && (okbuf[d] = lw_temp(L, DT_BOOL, p.out[d])) < 0)
            return -1;
        int o = kfor_n(k, p.out[d], KL_SERIAL);
        KExpr *ov = kvar(k, o);
        int xv = kdecl(k, F, rz_coord(k, &p, d, ov, roibuf, roidt));
        KExpr *x = kvar(k, xv);
        if (okbuf[d] >= 0)
            kstore(k, okbuf[d], ov, band(k, kbin(k, KB_GE, x, fc(k, F, 0.0)),
                                        kbin(k, KB_LE, x, fc(k, F, (double)(in - 1)))));
        int cv = kdecl(k, F, kun(k, KU_CEIL, x));
        KExpr *c = kvar(k, cv);
        /* ratio in (0, 1]: an integer coordinate counts as the right end of its window */
        int rv = kdecl(k, F, ksel(k, kbin(k, KB_EQ, x, c), fc(k, F, 1.0),
                                  fsub(k, x, kun(k, KU_FLOOR, x))));
        KExpr *r = kvar(k, rv);
        /* the nwin nearest indices of the edge-padded axis (pad nwin/2 each side) */
        int sv = kdecl(k, DT_IDX, iclamp(k, kaddi(k, kcast(k, DT_IDX, c), -nwin / 2), -nwin / 2,
                                         in - nwin / 2));
        KExpr *s = kvar(k, sv);
        if (p.mode == RZ_NEAREST) {
            KExpr *one = fc(k, F, 1.0), *half = fc(k, F, 0.5), *right;
            switch (p.nearest) {
            case NM_ROUND_PREFER_FLOOR: right = kbin(k, KB_GT, r, half); break;
            case NM_ROUND_PREFER_CEIL: right = kbin(k, KB_GE, r, half); break;
            case NM_FLOOR: right = kbin(k, KB_EQ, r, one); break;
            default: right = kc_int(k, DT_BOOL, 1); break;
            }
            KExpr *i = iclamp(k, kadd(k, s, ksel(k, right, kc_idx(k, 1), kc_idx(k, 0))), 0, in - 1);
            kstore(k, ibuf[d], ov, kcast(k, DT_I64, i));
        } else {
            KExpr *w[RZ_MAX_TAPS];
            if (aa[d]) {
                /* tap j sits at (start + j - r) input steps from the point */
                int start = 1 - nwin / 2;
                for (int j = 0; j < nwin; j++)
                    w[j] = aa_filter(k, F, p.mode == RZ_CUBIC, p.cubic_a,
                                     fmul(k, fsub(k, fc(k, F, start + j), r),
                                          fc(k, F, p.scale[d])));
            } else if (p.mode == RZ_LINEAR) {
                w[0] = fsub(k, fc(k, F, 1.0), r);
                w[1] = r;
            } else {
                cubic_weights(k, F, r, p.cubic_a, w);
            }
            int wv[RZ_MAX_TAPS];
            for (int j = 0; j < nwin; j++) {
                KExpr *e = w[j];
                if (p.exclude) /* taps outside the axis get no weight, the rest renormalize */
                    e = ksel(k, iin(k, kaddi(k, s, j), 0, in), e, fc(k, F, 0.0));
                wv[j] = kdecl(k, F, e);
            }
            KExpr *sum = NULL;
            /* the stretched filter's weights do not sum to 1: normalized, as the reference */
            if (p.exclude || aa[d])
                for (int j = 0; j < nwin; j++)
                    sum = sum ? fadd(k, sum, kvar(k, wv[j])) : kvar(k, wv[j]);
            for (int j = 0; j < nwin; j++) {
                KExpr *at = kaddi(k, kmuli(k, ov, nwin), j);
                KExpr *e = kvar(k, wv[j]);
                kstore(k, wbuf[d], at, sum ? fdiv(k, e, sum) : e);
                kstore(k, ibuf[d], at, kcast(k, DT_I64, iclamp(k, kaddi(k, s, j), 0, in - 1)));
            }
        }
        kend(k);
    }

    int v[KIR_MAX_RANK];
    kloops(k, rank, p.out, v);
    KExpr *oi = kindex(k, rank, p.out, v);
    DType yt = node_out(n, 0)->type.dt;
    if (p.ctm == CT_TF_CROP_AND_RESIZE) {
        KExpr *ok = NULL;
        for (int d = 0; d < rank; d++) {
            if (okbuf[d] < 0) continue;
            KExpr *e = kload(k, okbuf[d], kvar(k, v[d]));
            ok = ok ? band(k, ok, e) : e;
        }
        if (ok) {
            kif(k, ok);
        }
    }
    int nopen = 0, tv[KIR_MAX_RANK];
    int acc = -1;
    KExpr *wprod = NULL;
    if (p.mode != RZ_NEAREST) acc = kdecl(k, F, fc(k, F, 0.0));
    for (int d = 0; d < rank; d++) {
        tv[d] = -1;
        if (ibuf[d] < 0 || p.mode == RZ_NEAREST) continue;
        tv[d] = kfor_n(k, ntaps[d], KL_UNROLL);
        nopen++;
    }
    KExpr *src = kc_idx(k, 0);
    for (int d = 0; d < rank; d++) {
        KExpr *pos;
        if (ibuf[d] < 0) {
            pos = kvar(k, v[d]);
        } else {
            KExpr *at = kvar(k, v[d]);
            if (tv[d] >= 0) at = kadd(k, kmuli(k, at, ntaps[d]), kvar(k, tv[d]));
            pos = kcast(k, DT_IDX, kload(k, ibuf[d], at));
            if (wbuf[d] >= 0) {
                KExpr *w = kload(k, wbuf[d], at);
                wprod = wprod ? fmul(k, wprod, w) : w;
            }
        }
        src = kadd(k, src, kmuli(k, pos, instride[d]));
    }
    if (p.mode == RZ_NEAREST) {
        kstore(k, Y, oi, kload(k, X, src));
    } else {
        KExpr *val = kcast(k, F, kload(k, X, src));
        kset(k, acc, fadd(k, kvar(k, acc), wprod ? fmul(k, wprod, val) : val));
        kend_n(k, nopen);
        kstore(k, Y, oi, kcast(k, yt, kvar(k, acc)));
    }
    if (p.ctm == CT_TF_CROP_AND_RESIZE) {
        int any = 0;
        for (int d = 0; d < rank; d++) any |= okbuf[d] >= 0;
        if (any) {
            kelse(k);
            kstore(k, Y, oi, kc(k, yt, p.extrap));
            kend(k);
        }
    }
    kend_n(k, rank);
    return 0;
}

/* ---- AffineGrid (opset 20) ---------------------------------------------------------- */

static const Type *ag_type(Node *n, int i)
{
    Value *v = i < n->nin ? node_in(n, i) : NULL;
    return v ? &v->type : NULL;
}

/* size = (N, C, H, W) or (N, C, D, H, W), a compile-time value; theta (N, 2, 3) or (N, 3, 4) */
static int ag_params(Node *n, int *nsp, int64_t *sp, int64_t *batch)
{
    const Type *th = ag_type(n, 0);
    if (!th || !ag_type(n, 1)) return node_err(n, "needs inputs theta and size");
    if (!dt_is_float(th->dt)) return node_err(n, "theta type %s is not supported",
                                              dt_name(th->dt));
    int64_t *sz;
    int cnt = const_ints(n, 1, &sz);
    if (cnt < 0) return -1;
    if (cnt != 4 && cnt != 5) return node_err(n, "size must have 4 or 5 entries, not %d", cnt);
    *nsp = cnt - 2;
    *batch = sz[0];
    for (int i = 0; i < *nsp; i++) {
        sp[i] = sz[2 + i];
        if (sp[i] < 1) return node_err(n, "size %lld on spatial axis %d", (long long)sp[i], i);
    }
    if (th->rank != 3 || th->dims[0] != sz[0] || th->dims[1] != *nsp ||
        th->dims[2] != *nsp + 1)
        return node_err(n, "theta must be (N, %d, %d) for this size", *nsp, *nsp + 1);
    return 0;
}

int affine_grid_infer(Node *n)
{
    int nsp;
    int64_t sp[3], b, d[5];
    if (ag_params(n, &nsp, sp, &b)) return -1;
    d[0] = b;
    for (int i = 0; i < nsp; i++) d[1 + i] = sp[i];
    d[1 + nsp] = nsp;
    return set_out(n, 0, ag_type(n, 0)->dt, nsp + 2, d);
}

/* grid[n, (d,) h, w] = theta[n] . (x_w, y_h, (z_d,) 1), the base coordinates spread over
 * [-1, 1]: pixel centres (align_corners=0) or pixel corners (align_corners=1). */
int affine_grid_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int nsp;
    int64_t sp[3], b;
    if (ag_params(n, &nsp, sp, &b)) return -1;
    DType t = ag_type(n, 0)->dt;
    const DType F = DT_F64;
    int align = attr_i(n, "align_corners", 0) != 0;
    int TH = lw_in(L, 0), G = lw_out(L, 0);
    int64_t pts = 1;
    for (int i = 0; i < nsp; i++) pts *= sp[i];
    if (b * pts == 0) return 0;
    int nv = kfor_n(k, b, KL_PARALLEL);
    int v[3];
    for (int i = 0; i < nsp; i++) v[i] = kfor_n(k, sp[i], KL_SERIAL);
    /* base coordinate j of the point: x from the last axis, then y, then z */
    int base[3];
    for (int j = 0; j < nsp; j++) {
        int ax = nsp - 1 - j;
        double len = (double)sp[ax];
        KExpr *i = kcast(k, F, kvar(k, v[ax]));
        KExpr *e;
        if (align)
            e = sp[ax] > 1 ? fsub(k, fmul(k, i, fc(k, F, 2.0 / (len - 1))), fc(k, F, 1.0))
                           : fc(k, F, -1.0);
        else
            e = fsub(k, fdiv(k, fadd(k, fmul(k, i, fc(k, F, 2.0)), fc(k, F, 1.0)), fc(k, F, len)),
                     fc(k, F, 1.0));
        base[j] = kdecl(k, F, e);
    }
    KExpr *pt = kvar(k, nv);
    for (int i = 0; i < nsp; i++) pt = kadd(k, kmuli(k, pt, sp[i]), kvar(k, v[i]));
    int ptv = kdecl(k, DT_IDX, pt);
    for (int r = 0; r < nsp; r++) {
        KExpr *row = kmuli(k, kaddi(k, kmuli(k, kvar(k, nv), nsp), r), nsp + 1);
        int rowv = kdecl(k, DT_IDX, row);
        KExpr *acc = kcast(k, F, kload(k, TH, kaddi(k, kvar(k, rowv), nsp)));
        for (int j = 0; j < nsp; j++)
            acc = fadd(k, acc, fmul(k, kcast(k, F, kload(k, TH, kaddi(k, kvar(k, rowv), j))),
                                    kvar(k, base[j])));
        kstore(k, G, kaddi(k, kmuli(k, kvar(k, ptv), nsp), r), kcast(k, t, acc));
    }
    kend_n(k, nsp + 1);
    return 0;
}

/* ---- GridSample -------------------------------------------------------------------- */

enum { GS_BILINEAR, GS_NEAREST, GS_BICUBIC };
enum { GP_ZEROS, GP_BORDER, GP_REFLECTION };

typedef struct GsParams {
    int mode, pad, align;
} GsParams;

static int gs_params(Node *n, GsParams *p)
{
    Value *x = node_in(n, 0), *g = node_in(n, 1);
    if (!x || !g) return node_err(n, "expects inputs X and grid");
    const Type *xt = &x->type, *gt = &g->type;
    if (xt->dt != DT_F32 && xt->dt != DT_F64)
        return node_err(n, "input type %s is not supported (float, double)", dt_name(xt->dt));
    if (gt->dt != DT_F32 && gt->dt != DT_F64)
        return node_err(n, "grid type %s is not supported (float, double)", dt_name(gt->dt));
    /* 5-D (volumetric) from opset 20 */
    int vol = xt->rank == 5 && n->opset >= 20;
    if (xt->rank != 4 && !vol)
        return node_err(n, "input must be 4-D (N, C, H, W)%s", n->opset >= 20 ? " or 5-D" : "");
    if (gt->rank != xt->rank || gt->dims[xt->rank - 1] != xt->rank - 2)
        return node_err(n, "grid must be (N, %s, %d)", vol ? "D_out, H_out, W_out" : "H_out, W_out",
                        xt->rank - 2);
    if (gt->dims[0] != xt->dims[0])
        return node_err(n, "grid batch %lld differs from input batch %lld",
                        (long long)gt->dims[0], (long long)xt->dims[0]);
    static const char *const modes[] = { "bilinear", "nearest", "bicubic" };
    static const char *const pads[] = { "zeros", "border", "reflection" };
    /* opset 20 renamed the modes (and made linear the default); the math is the same */
    static const char *const modes20[] = { "linear", "nearest", "cubic" };
    const char *m = attr_s(n, "mode", n->opset >= 20 ? "linear" : "bilinear");
    const char *pm = attr_s(n, "padding_mode", "zeros");
    p->mode = pick(m, n->opset >= 20 ? modes20 : modes, 3);
    if (p->mode < 0) return node_err(n, "unsupported mode '%s'", m);
    if ((p->pad = pick(pm, pads, 3)) < 0) return node_err(n, "unsupported padding_mode '%s'", pm);
    if (vol && p->mode == GS_BICUBIC) return node_err(n, "cubic mode is 2-D only");
    p->align = attr_i(n, "align_corners", 0) != 0;
    return 0;
}

int gridsample_infer(Node *n)
{
    GsParams p;
    if (gs_params(n, &p)) return -1;
    const Type *xt = &node_in(n, 0)->type, *gt = &node_in(n, 1)->type;
    int64_t dims[5] = { xt->dims[0], xt->dims[1], gt->dims[1], gt->dims[2], gt->dims[3] };
    return set_out(n, 0, xt->dt, xt->rank, dims);
}

/* Grid coordinate in [-1, 1] to pixel coordinate (PyTorch's unnormalize). */
static KExpr *gs_unnorm(KB *k, DType t, KExpr *c, int64_t size, int align)
{
    KExpr *one = fc(k, t, 1.0);
    if (align)
        return fmul(k, fdiv(k, fadd(k, c, one), fc(k, t, 2.0)), fc(k, t, (double)(size - 1)));
    return fdiv(k, fsub(k, fmul(k, fadd(k, c, one), fc(k, t, (double)size)), one),
                fc(k, t, 2.0));
}

/* Border and reflection padding move a coordinate into [0, size-1]; zeros leaves it. */
static KExpr *gs_pad(KB *k, DType t, KExpr *x, int64_t size, const GsParams *p)
{
    KExpr *hi = fc(k, t, (double)(size - 1)), *zero = fc(k, t, 0.0);
    if (p->pad == GP_ZEROS) return x;
    if (p->pad == GP_REFLECTION) {
        double tl = p->align ? 0.0 : -1.0, th = p->align ? 2.0 * (double)(size - 1)
                                                        : 2.0 * (double)size - 1;
        if (tl == th) return zero;
        double mn = tl / 2, span = (th - tl) / 2;
        int av = kdecl(k, t, kun(k, KU_ABS, fsub(k, x, fc(k, t, mn))));
        KExpr *a = kvar(k, av);
        int ev = kdecl(k, t, kbin(k, KB_REM, a, fc(k, t, span)));
        KExpr *flips = kun(k, KU_FLOOR, fdiv(k, a, fc(k, t, span)));
        KExpr *even = kbin(k, KB_EQ, kbin(k, KB_REM, flips, fc(k, t, 2.0)), zero);
        x = ksel(k, even, fadd(k, kvar(k, ev), fc(k, t, mn)),
                 fadd(k, fsub(k, fc(k, t, span), kvar(k, ev)), fc(k, t, mn)));
    }
    return kbin(k, KB_MIN, hi, kbin(k, KB_MAX, x, zero));
}

/* Volumetric GridSample: nearest or trilinear taps of the padded coordinates, each tap
 * outside the volume read as zero. */
static int gridsample3d_lower(Node *n, Lower *L, const GsParams *p)
{
    KB *k = L->k;
    const Type *xt = &node_in(n, 0)->type, *gt = &node_in(n, 1)->type;
    int64_t N = xt->dims[0], C = xt->dims[1], sz[3] = { xt->dims[2], xt->dims[3], xt->dims[4] };
    int64_t od[3] = { gt->dims[1], gt->dims[2], gt->dims[3] };
    int X = lw_in(L, 0), G = lw_in(L, 1), Y = lw_out(L, 0);
    if (X < 0 || G < 0 || Y < 0) return -1;
    if (N * C * od[0] * od[1] * od[2] == 0) return 0;
    DType t = gt->dt, yt = xt->dt;
    int nv = kfor_n(k, N, KL_PARALLEL);
    int ov[3];
    for (int i = 0; i < 3; i++) ov[i] = kfor_n(k, od[i], KL_SERIAL);
    int pt = kdecl(k, DT_IDX, kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, kvar(k, nv),
                                                                          od[0]),
                                                                   kvar(k, ov[0])), od[1]),
                                                     kvar(k, ov[1])), od[2]), kvar(k, ov[2])));
    /* grid component j is the coordinate along axis 2 - j (x is W, y is H, z is D) */
    int pc[3];
    for (int j = 0; j < 3; j++) {
        int ax = 2 - j;
        KExpr *g = kload(k, G, kaddi(k, kmuli(k, kvar(k, pt), 3), j));
        int u = kdecl(k, t, gs_unnorm(k, t, g, sz[ax], p->align));
        pc[ax] = kdecl(k, t, gs_pad(k, t, kvar(k, u), sz[ax], p));
    }
    int ntap = p->mode == GS_NEAREST ? 1 : 2;
    int base[3], w[3][2], ok[3][2], ix[3][2];
    for (int a = 0; a < 3; a++) {
        if (p->mode == GS_NEAREST)
            base[a] = kdecl(k, DT_IDX, kcast(k, DT_IDX, kun(k, KU_RINT, kvar(k, pc[a]))));
        else
            base[a] = kdecl(k, DT_IDX, kcast(k, DT_IDX, kun(k, KU_FLOOR, kvar(k, pc[a]))));
        for (int j = 0; j < ntap; j++) {
            KExpr *i = kaddi(k, kvar(k, base[a]), j);
            ok[a][j] = kdecl(k, DT_BOOL, iin(k, i, 0, sz[a]));
            ix[a][j] = kdecl(k, DT_IDX, iclamp(k, kaddi(k, kvar(k, base[a]), j), 0, sz[a] - 1));
            if (p->mode != GS_NEAREST) {
                KExpr *f = kcast(k, t, kvar(k, base[a]));
                w[a][j] = kdecl(k, t, j ? fsub(k, kvar(k, pc[a]), f)
                                        : fsub(k, fadd(k, f, fc(k, t, 1.0)), kvar(k, pc[a])));
            }
        }
    }
    int cv = kfor_n(k, C, KL_SERIAL);
    int plane = kdecl(k, DT_IDX, kmuli(k, kadd(k, kmuli(k, kvar(k, nv), C), kvar(k, cv)),
                                       sz[0] * sz[1] * sz[2]));
    KExpr *acc = NULL;
    for (int jd = 0; jd < ntap; jd++)
        for (int jh = 0; jh < ntap; jh++)
            for (int jw = 0; jw < ntap; jw++) {
                KExpr *at = kadd(k, kvar(k, plane),
                                 kadd(k, kmuli(k, kadd(k, kmuli(k, kvar(k, ix[0][jd]), sz[1]),
                                                       kvar(k, ix[1][jh])), sz[2]),
                                      kvar(k, ix[2][jw])));
                KExpr *v = kcast(k, t, kload(k, X, at));
                if (p->mode != GS_NEAREST)
                    v = fmul(k, v, fmul(k, kvar(k, w[0][jd]),
                                        fmul(k, kvar(k, w[1][jh]), kvar(k, w[2][jw]))));
                KExpr *in = band(k, kvar(k, ok[0][jd]),
                                 band(k, kvar(k, ok[1][jh]), kvar(k, ok[2][jw])));
                KExpr *term = ksel(k, in, v, fc(k, t, 0.0));
                acc = acc ? fadd(k, acc, term) : term;
            }
    KExpr *yi = kadd(k, kmuli(k, kadd(k, kmuli(k, kvar(k, nv), C), kvar(k, cv)),
                              od[0] * od[1] * od[2]),
                     kadd(k, kmuli(k, kadd(k, kmuli(k, kvar(k, ov[0]), od[1]), kvar(k, ov[1])),
                                   od[2]), kvar(k, ov[2])));
    kstore(k, Y, yi, kcast(k, yt, acc));
    kend_n(k, 5);
    return 0;
}

int gridsample_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    GsParams p;
    if (gs_params(n, &p)) return -1;
    if (node_in(n, 0)->type.rank == 5) return gridsample3d_lower(n, L, &p);
    const Type *xt = &node_in(n, 0)->type, *gt = &node_in(n, 1)->type;
    int64_t N = xt->dims[0], C = xt->dims[1], H = xt->dims[2], W = xt->dims[3];
    int64_t Ho = gt->dims[1], Wo = gt->dims[2];
    int X = lw_in(L, 0), G = lw_in(L, 1), Y = lw_out(L, 0);
    if (X < 0 || G < 0 || Y < 0) return -1;
    if (N * C * Ho * Wo == 0) return 0;
    DType t = gt->dt, yt = xt->dt;
    KExpr *zero = fc(k, t, 0.0);
    KExpr *nb = kvar(k, kfor_n(k, N, KL_PARALLEL));
    KExpr *ho = kvar(k, kfor_n(k, Ho, KL_SERIAL));
    KExpr *wo = kvar(k, kfor_n(k, Wo, KL_SERIAL));
    KExpr *gi = kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, nb, Ho), ho), Wo), wo), 2);
    int ixv = kdecl(k, t, gs_unnorm(k, t, kload(k, G, gi), W, p.align));
    int iyv = kdecl(k, t, gs_unnorm(k, t, kload(k, G, kaddi(k, gi, 1)), H, p.align));
    /* flat offset of (n, c, y, x) in X and of (n, c, ho, wo) in Y, for channel var c */
#define XAT(c, yi, xi) kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, nb, C), c), H), yi), W), xi)
#define YAT(c) kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, nb, C), c), Ho), ho), Wo), wo)
    if (p.mode != GS_BICUBIC) {
        int pxv = kdecl(k, t, gs_pad(k, t, kvar(k, ixv), W, &p));
        int pyv = kdecl(k, t, gs_pad(k, t, kvar(k, iyv), H, &p));
        KExpr *px = kvar(k, pxv), *py = kvar(k, pyv);
        if (p.mode == GS_NEAREST) {
            int xi = kdecl(k, DT_IDX, kcast(k, DT_IDX, kun(k, KU_RINT, px)));
            int yi = kdecl(k, DT_IDX, kcast(k, DT_IDX, kun(k, KU_RINT, py)));
            int inb = kdecl(k, DT_BOOL, band(k, iin(k, kvar(k, xi), 0, W), iin(k, kvar(k, yi), 0, H)));
            KExpr *c = kvar(k, kfor_n(k, C, KL_SERIAL));
            KExpr *v = kload(k, X, XAT(c, iclamp(k, kvar(k, yi), 0, H - 1),
                                       iclamp(k, kvar(k, xi), 0, W - 1)));
            kstore(k, Y, YAT(c), ksel(k, kvar(k, inb), v, kc(k, yt, 0.0)));
            kend(k);
        } else {
            int x0f = kdecl(k, t, kun(k, KU_FLOOR, px)), y0f = kdecl(k, t, kun(k, KU_FLOOR, py));
            KExpr *one = fc(k, t, 1.0);
            int wx[2], wy[2], xs[2], ys[2], okx[2], oky[2];
            wx[0] = kdecl(k, t, fsub(k, fadd(k, kvar(k, x0f), one), px));
            wx[1] = kdecl(k, t, fsub(k, px, kvar(k, x0f)));
            wy[0] = kdecl(k, t, fsub(k, fadd(k, kvar(k, y0f), one), py));
            wy[1] = kdecl(k, t, fsub(k, py, kvar(k, y0f)));
            for (int j = 0; j < 2; j++) {
                KExpr *xi = kaddi(k, kcast(k, DT_IDX, kvar(k, x0f)), j);
                KExpr *yi = kaddi(k, kcast(k, DT_IDX, kvar(k, y0f)), j);
                okx[j] = kdecl(k, DT_BOOL, iin(k, xi, 0, W));
                oky[j] = kdecl(k, DT_BOOL, iin(k, yi, 0, H));
                xs[j] = kdecl(k, DT_IDX, iclamp(k, xi, 0, W - 1));
                ys[j] = kdecl(k, DT_IDX, iclamp(k, yi, 0, H - 1));
            }
            KExpr *c = kvar(k, kfor_n(k, C, KL_SERIAL));
            KExpr *acc = NULL;
            /* PyTorch's order: nw, ne, sw, se */
            for (int jy = 0; jy < 2; jy++)
                for (int jx = 0; jx < 2; jx++) {
                    KExpr *v = kcast(k, t, kload(k, X, XAT(c, kvar(k, ys[jy]), kvar(k, xs[jx]))));
                    KExpr *term = fmul(k, v, fmul(k, kvar(k, wx[jx]), kvar(k, wy[jy])));
                    term = ksel(k, band(k, kvar(k, okx[jx]), kvar(k, oky[jy])), term, zero);
                    acc = acc ? fadd(k, acc, term) : term;
                }
            kstore(k, Y, YAT(c), kcast(k, yt, acc));
            kend(k);
        }
    } else {
        int x0f = kdecl(k, t, kun(k, KU_FLOOR, kvar(k, ixv)));
        int y0f = kdecl(k, t, kun(k, KU_FLOOR, kvar(k, iyv)));
        KExpr *wxe[4], *wye[4];
        cubic_weights(k, t, fsub(k, kvar(k, ixv), kvar(k, x0f)), -0.75, wxe);
        cubic_weights(k, t, fsub(k, kvar(k, iyv), kvar(k, y0f)), -0.75, wye);
        int wx[4], wy[4], xs[4], ys[4], okx[4], oky[4];
        for (int j = 0; j < 4; j++) {
            wx[j] = kdecl(k, t, wxe[j]);
            wy[j] = kdecl(k, t, wye[j]);
            /* each tap is padded on its own, then read as zero when still outside */
            int pxv = kdecl(k, t, gs_pad(k, t, fadd(k, kvar(k, x0f), fc(k, t, j - 1.0)), W, &p));
            int pyv = kdecl(k, t, gs_pad(k, t, fadd(k, kvar(k, y0f), fc(k, t, j - 1.0)), H, &p));
            KExpr *xi = kcast(k, DT_IDX, kvar(k, pxv)), *yi = kcast(k, DT_IDX, kvar(k, pyv));
            okx[j] = kdecl(k, DT_BOOL, iin(k, xi, 0, W));
            oky[j] = kdecl(k, DT_BOOL, iin(k, yi, 0, H));
            xs[j] = kdecl(k, DT_IDX, iclamp(k, xi, 0, W - 1));
            ys[j] = kdecl(k, DT_IDX, iclamp(k, yi, 0, H - 1));
        }
        KExpr *c = kvar(k, kfor_n(k, C, KL_SERIAL));
        KExpr *acc = NULL;
        for (int jy = 0; jy < 4; jy++) {
            KExpr *row = NULL;
            for (int jx = 0; jx < 4; jx++) {
                KExpr *v = kcast(k, t, kload(k, X, XAT(c, kvar(k, ys[jy]), kvar(k, xs[jx]))));
                v = ksel(k, band(k, kvar(k, okx[jx]), kvar(k, oky[jy])), v, zero);
                KExpr *term = fmul(k, v, kvar(k, wx[jx]));
                row = row ? fadd(k, row, term) : term;
            }
            KExpr *term = fmul(k, row, kvar(k, wy[jy]));
            acc = acc ? fadd(k, acc, term) : term;
        }
        kstore(k, Y, YAT(c), kcast(k, yt, acc));
        kend(k);
    }
#undef XAT
#undef YAT
    kend_n(k, 3);
    return 0;
}

/* ---- RoiAlign ---------------------------------------------------------------------- */

static int roi_params(Node *n, int *half_pixel, int *maxmode, int64_t *oh, int64_t *ow,
                      int64_t *ratio)
{
    Value *x = node_in(n, 0), *r = node_in(n, 1), *b = node_in(n, 2);
    if (!x || !r || !b) return node_err(n, "expects inputs X, rois and batch_indices");
    const Type *xt = &x->type, *rt = &r->type, *bt = &b->type;
    if (xt->dt != DT_F32 && xt->dt != DT_F64)
        return node_err(n, "input type %s is not supported (float, double)", dt_name(xt->dt));
    if (rt->dt != xt->dt) return node_err(n, "rois must have the input's type");
    if (bt->dt != DT_I64 && bt->dt != DT_I32) return node_err(n, "batch_indices must be int64");
    if (xt->rank != 4) return node_err(n, "input must be 4-D (N, C, H, W)");
    if (rt->rank != 2 || rt->dims[1] != 4) return node_err(n, "rois must be 2-D (num_rois, 4)");
    if (bt->rank != 1 || bt->dims[0] != rt->dims[0])
        return node_err(n, "batch_indices must be 1-D with one entry per roi");
    const char *ctm = attr_s(n, "coordinate_transformation_mode",
                             n->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (!strcmp(ctm, "half_pixel")) *half_pixel = 1;
    else if (!strcmp(ctm, "output_half_pixel")) *half_pixel = 0;
    else return node_err(n, "unsupported coordinate_transformation_mode '%s'", ctm);
    const char *mode = attr_s(n, "mode", "avg");
    if (!strcmp(mode, "avg")) *maxmode = 0;
    else if (!strcmp(mode, "max")) *maxmode = 1;
    else return node_err(n, "unsupported mode '%s'", mode);
    *oh = attr_i(n, "output_height", 1);
    *ow = attr_i(n, "output_width", 1);
    *ratio = attr_i(n, "sampling_ratio", 0);
    if (*oh <= 0 || *ow <= 0 || *oh > (1 << 20) || *ow > (1 << 20))
        return node_err(n, "output_height and output_width must be positive");
    if (*ratio < 0 || *ratio > 1024) return node_err(n, "invalid sampling_ratio %lld",
                                                     (long long)*ratio);
    return 0;
}

int roialign_infer(Node *n)
{
    int hp, mx;
    int64_t oh, ow, ratio;
    if (roi_params(n, &hp, &mx, &oh, &ow, &ratio)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int64_t dims[4] = { node_in(n, 1)->type.dims[0], xt->dims[1], oh, ow };
    return set_out(n, 0, xt->dt, 4, dims);
}

/* ONNX Runtime's RoiAlign: each output bin averages (or takes the max of) a grid of
 * bilinear samples; sampling_ratio 0 sizes the grid from the roi, at run time. */
int roialign_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int hp, mx;
    int64_t oh, ow, ratio;
    if (roi_params(n, &hp, &mx, &oh, &ow, &ratio)) return -1;
    const Type *xt = &node_in(n, 0)->type;
    int64_t N = xt->dims[0], C = xt->dims[1], H = xt->dims[2], W = xt->dims[3];
    int64_t R = node_in(n, 1)->type.dims[0];
    int X = lw_in(L, 0), RO = lw_in(L, 1), B = lw_in(L, 2), Y = lw_out(L, 0);
    if (X < 0 || RO < 0 || B < 0 || Y < 0) return -1;
    if (R * C == 0) return 0;
    DType t = xt->dt;
    float ss = attr_f(n, "spatial_scale", 1.0f);
    KExpr *zero = fc(k, t, 0.0), *one = fc(k, t, 1.0);
    KExpr *r = kvar(k, kfor_n(k, R, KL_PARALLEL));
    int rv[4];
    for (int j = 0; j < 4; j++)
        rv[j] = kdecl(k, t, fsub(k, fmul(k, kload(k, RO, kaddi(k, kmuli(k, r, 4), j)),
                                         fc(k, t, ss)), fc(k, t, hp ? 0.5 : 0.0)));
    KExpr *rw = fsub(k, kvar(k, rv[2]), kvar(k, rv[0])), *rh = fsub(k, kvar(k, rv[3]), kvar(k, rv[1]));
    if (!hp) {
        rw = kbin(k, KB_MAX, rw, one);
        rh = kbin(k, KB_MAX, rh, one);
    }
    int rwv = kdecl(k, t, rw), rhv = kdecl(k, t, rh);
    int bhv = kdecl(k, t, fdiv(k, kvar(k, rhv), fc(k, t, (double)oh)));
    int bwv = kdecl(k, t, fdiv(k, kvar(k, rwv), fc(k, t, (double)ow)));
    KExpr *gh, *gw;
    if (ratio > 0) {
        gh = kc_idx(k, ratio);
        gw = kc_idx(k, ratio);
    } else {
        gh = kvar(k, kdecl(k, DT_IDX, kcast(k, DT_IDX, kun(k, KU_CEIL, fdiv(k, kvar(k, rhv),
                                                                          fc(k, t, (double)oh))))));
        gw = kvar(k, kdecl(k, DT_IDX, kcast(k, DT_IDX, kun(k, KU_CEIL, fdiv(k, kvar(k, rwv),
                                                                          fc(k, t, (double)ow))))));
    }
    int cntv = kdecl(k, DT_IDX, kbin(k, KB_MAX, kmul(k, gh, gw), kc_idx(k, 1)));
    int bv = kdecl(k, DT_IDX, iclamp(k, kcast(k, DT_IDX, kload(k, B, r)), 0, N - 1));
    KExpr *c = kvar(k, kfor_n(k, C, KL_SERIAL));
    KExpr *ph = kvar(k, kfor_n(k, oh, KL_SERIAL));
    KExpr *pw = kvar(k, kfor_n(k, ow, KL_SERIAL));
    int acc = kdecl(k, t, mx ? fc(k, t, -INFINITY) : zero);
    KExpr *iy = kvar(k, kfor(k, kc_idx(k, 0), gh, KL_REDUCE));
    KExpr *ix = kvar(k, kfor(k, kc_idx(k, 0), gw, KL_REDUCE));
    KExpr *half = fc(k, t, 0.5);
    int yv = kdecl(k, t, fadd(k, fadd(k, kvar(k, rv[1]), fmul(k, kcast(k, t, ph), kvar(k, bhv))),
                              fdiv(k, fmul(k, fadd(k, kcast(k, t, iy), half), kvar(k, bhv)),
                                   kcast(k, t, gh))));
    int xv = kdecl(k, t, fadd(k, fadd(k, kvar(k, rv[0]), fmul(k, kcast(k, t, pw), kvar(k, bwv))),
                              fdiv(k, fmul(k, fadd(k, kcast(k, t, ix), half), kvar(k, bwv)),
                                   kcast(k, t, gw))));
    KExpr *y = kvar(k, yv), *x = kvar(k, xv);
    int inside = kdecl(k, DT_BOOL,
                       band(k, band(k, kbin(k, KB_GE, y, fc(k, t, -1.0)),
                                    kbin(k, KB_LE, y, fc(k, t, (double)H))),
                            band(k, kbin(k, KB_GE, x, fc(k, t, -1.0)),
                                 kbin(k, KB_LE, x, fc(k, t, (double)W)))));
    kset(k, yv, kbin(k, KB_MAX, y, zero));
    kset(k, xv, kbin(k, KB_MAX, x, zero));
    int ylo = kdecl(k, DT_IDX, kcast(k, DT_IDX, y)), xlo = kdecl(k, DT_IDX, kcast(k, DT_IDX, x));
    /* at the last row/column both taps are that row/column, with the fraction 0 */
    KExpr *ylast = kbin(k, KB_GE, kvar(k, ylo), kc_idx(k, H - 1));
    KExpr *xlast = kbin(k, KB_GE, kvar(k, xlo), kc_idx(k, W - 1));
    kset(k, yv, ksel(k, ylast, fc(k, t, (double)(H - 1)), y));
    kset(k, xv, ksel(k, xlast, fc(k, t, (double)(W - 1)), x));
    int y0 = kdecl(k, DT_IDX, iclamp(k, kvar(k, ylo), 0, H - 1));
    int x0 = kdecl(k, DT_IDX, iclamp(k, kvar(k, xlo), 0, W - 1));
    int y1 = kdecl(k, DT_IDX, iclamp(k, kaddi(k, kvar(k, ylo), 1), 0, H - 1));
    int x1 = kdecl(k, DT_IDX, iclamp(k, kaddi(k, kvar(k, xlo), 1), 0, W - 1));
    int ly = kdecl(k, t, fsub(k, y, kcast(k, t, kvar(k, y0))));
    int lx = kdecl(k, t, fsub(k, x, kcast(k, t, kvar(k, x0))));
    KExpr *hy = fsub(k, one, kvar(k, ly)), *hx = fsub(k, one, kvar(k, lx));
    KExpr *base = kmuli(k, kadd(k, kmuli(k, kvar(k, bv), C), c), H * W);
#define AT(yy, xx) kload(k, X, kadd(k, base, kadd(k, kmuli(k, kvar(k, yy), W), kvar(k, xx))))
    KExpr *t1 = fmul(k, fmul(k, hy, hx), AT(y0, x0));
    KExpr *t2 = fmul(k, fmul(k, hy, kvar(k, lx)), AT(y0, x1));
    KExpr *t3 = fmul(k, fmul(k, kvar(k, ly), hx), AT(y1, x0));
    KExpr *t4 = fmul(k, fmul(k, kvar(k, ly), kvar(k, lx)), AT(y1, x1));
#undef AT
    KExpr *val;
    if (mx)
        val = kbin(k, KB_MAX, kbin(k, KB_MAX, kbin(k, KB_MAX, t1, t2), t3), t4);
    else
        val = fadd(k, fadd(k, fadd(k, t1, t2), t3), t4);
    val = ksel(k, kvar(k, inside), val, zero);
    kset(k, acc, mx ? kbin(k, KB_MAX, kvar(k, acc), val) : fadd(k, kvar(k, acc), val));
    kend_n(k, 2);
    KExpr *res = mx ? ksel(k, kbin(k, KB_GT, kmul(k, gh, gw), kc_idx(k, 0)), kvar(k, acc), zero)
                    : fdiv(k, kvar(k, acc), kcast(k, t, kvar(k, cntv)));
    KExpr *yi = kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, r, C), c), oh), ph), ow), pw);
    kstore(k, Y, yi, res);
    kend_n(k, 4);
    return 0;
}
