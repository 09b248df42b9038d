/* attention.c — the attention operators: Attention (opset 23, 24), scaled dot-product
 * attention with grouped heads, a boolean or additive mask, causal masking, a KV cache
 * (past_key/past_value in, present_key/present_value out), softcap and the optional
 * qk_matmul_output; and LinearAttention (opset 27), the recurrent state form with the
 * linear, gated, delta and gated-delta update rules.
 *
 * One loop nest per (batch, query head, query row): the row of scores goes to a scratch
 * buffer of total_sequence_length values, is masked and soft-capped there, turned into
 * probabilities (max-shifted softmax) and multiplied into V. The rows share the scratch, so
 * the nest is serial; the scores are computed in float32 for the half types and in the
 * element type otherwise. */
#include <math.h>
#include <string.h>
#include "../onnxcc.h"

typedef struct Att {
    int three_d;               /* Q, K, V are (B, S, H*D) rather than (B, H, S, D) */
    int64_t B, qH, kvH, qS, kvS, past, T, D, Dv;
    int mask;                  /* input 3 given */
    int mask_bool;
    int mrank;                 /* the mask's rank and dims, right-aligned to (B, qH, qS, T) */
    int64_t mdims[4];
    int nonpad;                /* input 6 (opset 24) given */
} Att;

static const Type *att_in(Node *n, int i)
{
    Value *v = i < n->nin ? node_in(n, i) : NULL;
    return v && (v->type.rank > 0 || type_numel(&v->type) > 0) ? &v->type : NULL;
}

static int att_params(Node *n, Att *a)
{
    memset(a, 0, sizeof *a);
    const Type *q = att_in(n, 0), *k = att_in(n, 1), *v = att_in(n, 2);
    if (!q || !k || !v) return node_err(n, "needs Q, K and V");
    DType t = q->dt;
    if (t != DT_F32 && t != DT_F64 && t != DT_F16 && t != DT_BF16)
        return node_err(n, "unsupported element type %s", dt_name(t));
    if (k->dt != t || v->dt != t) return node_err(n, "Q, K and V must have one type");
    if (q->rank != k->rank || q->rank != v->rank || (q->rank != 3 && q->rank != 4))
        return node_err(n, "Q, K and V must all be 3-D or all 4-D");
    if (q->rank == 4) {
        a->B = q->dims[0], a->qH = q->dims[1], a->qS = q->dims[2], a->D = q->dims[3];
        a->kvH = k->dims[1], a->kvS = k->dims[2], a->Dv = v->dims[3];
        if (k->dims[0] != a->B || v->dims[0] != a->B || k->dims[3] != a->D ||
            v->dims[1] != a->kvH || v->dims[2] != a->kvS)
            return node_err(n, "Q, K and V shapes do not match");
    } else {
        a->three_d = 1;
        a->qH = attr_i(n, "q_num_heads", 0), a->kvH = attr_i(n, "kv_num_heads", 0);
        if (a->qH < 1 || a->kvH < 1)
            return node_err(n, "3-D inputs need the q_num_heads and kv_num_heads attributes");
        if (q->dims[2] % a->qH || k->dims[2] % a->kvH || v->dims[2] % a->kvH)
            return node_err(n, "the hidden sizes do not split into the heads");
        a->B = q->dims[0], a->qS = q->dims[1], a->D = q->dims[2] / a->qH;
        a->kvS = k->dims[1], a->Dv = v->dims[2] / a->kvH;
        if (k->dims[0] != a->B || v->dims[0] != a->B || k->dims[2] / a->kvH != a->D ||
            v->dims[1] != a->kvS)
            return node_err(n, "Q, K and V shapes do not match");
    }
    if (a->kvH < 1 || a->qH % a->kvH)
        return node_err(n, "%lld query heads do not group over %lld key/value heads",
                        (long long)a->qH, (long long)a->kvH);
    const Type *pk = att_in(n, 4), *pv = att_in(n, 5);
    if (!pk != !pv) return node_err(n, "past_key and past_value go together");
    if (pk) {
        if (pk->rank != 4 || pk->dt != t || pk->dims[0] != a->B || pk->dims[1] != a->kvH ||
            pk->dims[3] != a->D || pv->rank != 4 || pv->dt != t || pv->dims[0] != a->B ||
            pv->dims[1] != a->kvH || pv->dims[2] != pk->dims[2] || pv->dims[3] != a->Dv)
            return node_err(n, "past_key / past_value must be (B, kv_heads, past, head_size)");
        a->past = pk->dims[2];
    }
    a->T = a->past + a->kvS;
    const Type *m = att_in(n, 3);
    if (m) {
        a->mask = 1;
        a->mask_bool = m->dt == DT_BOOL;
        if (!a->mask_bool && m->dt != t)
            return node_err(n, "attn_mask must be bool or of Q's type, not %s", dt_name(m->dt));
        if (m->rank < 2 || m->rank > 4) return node_err(n, "attn_mask must have rank 2 to 4");
        int64_t full[4] = { a->B, a->qH, a->qS, a->T };
        a->mrank = m->rank;
        for (int i = 0; i < m->rank; i++) {
            int64_t want = full[4 - m->rank + i];
            a->mdims[i] = m->dims[i];
            /* a mask shorter than total_sequence_length leaves the keys past it masked */
            if (i == m->rank - 1 && m->dims[i] < want) continue;
            if (m->dims[i] != want && m->dims[i] != 1)
                return node_err(n, "attn_mask dim %d is %lld, expected %lld or 1", i,
                                (long long)m->dims[i], (long long)want);
        }
    }
    const Type *np = n->opset >= 24 ? att_in(n, 6) : NULL;
    if (np) {
        if (!dt_is_int(np->dt) || type_numel(np) != a->B)
            return node_err(n, "nonpad_kv_seqlen must hold one integer per batch");
        a->nonpad = 1;
    }
    int64_t mode = attr_i(n, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3) return node_err(n, "qk_matmul_output_mode %lld", (long long)mode);
    return 0;
}

int attention_infer(Node *n)
{
    Att a;
    if (att_params(n, &a)) return -1;
    DType t = node_in(n, 0)->type.dt;
    int64_t y3[3] = { a.B, a.qS, a.qH * a.Dv }, y4[4] = { a.B, a.qH, a.qS, a.Dv };
    if (set_out(n, 0, t, a.three_d ? 3 : 4, a.three_d ? y3 : y4)) return -1;
    int64_t pk[4] = { a.B, a.kvH, a.T, a.D }, pv[4] = { a.B, a.kvH, a.T, a.Dv };
    int64_t qk[4] = { a.B, a.qH, a.qS, a.T };
    if (node_out(n, 1) && set_out(n, 1, t, 4, pk)) return -1;
    if (node_out(n, 2) && set_out(n, 2, t, 4, pv)) return -1;
    if (node_out(n, 3) && set_out(n, 3, t, 4, qk)) return -1;
    return 0;
}

static KExpr *V(KB *k, int var) { return kvar(k, var); }

/* Element (b, head, s, d) of a Q/K/V input in its 3-D or 4-D layout. */
static KExpr *qkv_at(KB *k, const Att *a, int64_t H, int64_t S, int64_t D, KExpr *b,
                     KExpr *h, KExpr *s, KExpr *d)
{
    if (a->three_d)
        return kadd(k, kmuli(k, kadd(k, kmuli(k, b, S), s), H * D), kadd(k, kmuli(k, h, D), d));
    return kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, b, H), h), S), s), D), d);
}

/* present = concat(past, new) along the sequence, (B, kvH, T, D): the cache the scores
 * read when there is a past. */
static void att_concat(KB *k, const Att *a, int past, int fresh, int out, int64_t D)
{
    int b = kfor_n(k, a->B, KL_PARALLEL), h = kfor_n(k, a->kvH, KL_SERIAL);
    int j = kfor_n(k, a->T, KL_SERIAL), d = kfor_n(k, D, KL_SERIAL);
    int bh = kdecl(k, DT_IDX, kadd(k, kmuli(k, V(k, b), a->kvH), V(k, h)));
    int o = kdecl(k, DT_IDX, kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, bh), a->T), V(k, j)), D),
                                  V(k, d)));
    if (a->past) {
        kif(k, kbin(k, KB_LT, V(k, j), kc_idx(k, a->past)));
        KExpr *pi = kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, bh), a->past), V(k, j)), D), V(k, d));
        kstore(k, out, V(k, o), kload(k, past, pi));
        kelse(k);
    }
    KExpr *s = kaddi(k, V(k, j), -a->past);
    kstore(k, out, V(k, o),
           kload(k, fresh, qkv_at(k, a, a->kvH, a->kvS, D, V(k, b), V(k, h), s, V(k, d))));
    if (a->past) kend(k);
    kend_n(k, 4);
}

/* Masks score variable s of (b, h, i, j): attn_mask (bool: false removes the key; float:
 * added), keys past a short mask, the causal future (j > i + past, or with
 * nonpad_kv_seqlen j > i + nonpad[b] - qS) and the padding keys j >= nonpad[b]. */
static void att_mask(KB *k, const Att *a, int s, DType ct, int M, int NP, int causal, int b,
                     int h, int i, int j)
{
    if (M >= 0) {
        KExpr *e[4] = { V(k, b), V(k, h), V(k, i), V(k, j) };
        KExpr *mi = kc_idx(k, 0);
        int64_t stride = 1;
        for (int r = a->mrank - 1; r >= 0; r--) {
            if (a->mdims[r] != 1) mi = kadd(k, mi, kmuli(k, e[4 - a->mrank + r], stride));
            stride *= a->mdims[r];
        }
        int64_t mlen = a->mdims[a->mrank - 1];
        int short_mask = mlen != 1 && mlen < a->T;
        if (short_mask) kif(k, kbin(k, KB_LT, V(k, j), kc_idx(k, mlen)));
        KExpr *mv = kload(k, M, mi);
        if (a->mask_bool)
            kset(k, s, ksel(k, mv, V(k, s), kc(k, ct, -INFINITY)));
        else
            kset(k, s, kbin(k, KB_ADD, V(k, s), kcast(k, ct, mv)));
        if (short_mask) {
            kelse(k);
            kset(k, s, kc(k, ct, -INFINITY));
            kend(k);
        }
    }
    if (causal) {
        KExpr *lim = NP >= 0 ? kaddi(k, kadd(k, V(k, i), kcast(k, DT_IDX, kload(k, NP, V(k, b)))),
                                     -a->qS)
                             : kaddi(k, V(k, i), a->past);
        kset(k, s, ksel(k, kbin(k, KB_GT, V(k, j), lim), kc(k, ct, -INFINITY), V(k, s)));
    }
    if (NP >= 0)
        kset(k, s, ksel(k, kbin(k, KB_GE, V(k, j), kcast(k, DT_IDX, kload(k, NP, V(k, b)))),
                        kc(k, ct, -INFINITY), V(k, s)));
}

int attention_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Att a;
    if (att_params(n, &a)) return -1;
    DType t = node_in(n, 0)->type.dt;
    DType ct = t == DT_F64 ? DT_F64 : DT_F32;
    double scale = attr_f(n, "scale", 0.0f);
    if (scale == 0.0) scale = 1.0 / sqrt((double)a.D);
    double softcap = attr_f(n, "softcap", 0.0f);
    int causal = attr_i(n, "is_causal", 0) != 0;
    int mode = (int)attr_i(n, "qk_matmul_output_mode", 0);
    int Q = lw_in(L, 0), K = lw_in(L, 1), Vb = lw_in(L, 2), Y = lw_out(L, 0);
    int M = a.mask ? lw_in(L, 3) : -1, NP = a.nonpad ? lw_in(L, 6) : -1;
    int QK = node_out(n, 3) ? lw_out(L, 3) : -1;
    if (a.B * a.qH * a.qS == 0) return 0;
    /* the caches: present_key/value when there is a past or they are wanted */
    int KC = -1, VC = -1;
    if (a.past || node_out(n, 1) || node_out(n, 2)) {
        KC = node_out(n, 1) ? lw_out(L, 1) : lw_temp(L, t, a.B * a.kvH * a.T * a.D);
        VC = node_out(n, 2) ? lw_out(L, 2) : lw_temp(L, t, a.B * a.kvH * a.T * a.Dv);
        if (KC < 0 || VC < 0) return -1;
        if (a.T) {
            att_concat(k, &a, a.past ? lw_in(L, 4) : -1, K, KC, a.D);
            att_concat(k, &a, a.past ? lw_in(L, 5) : -1, Vb, VC, a.Dv);
        }
    }
    if (a.T == 0) return node_err(n, "no keys to attend to");
    int row = lw_temp(L, ct, a.T);
    if (row < 0) return -1;
    int64_t grp = a.qH / a.kvH;
    int b = kfor_n(k, a.B, KL_SERIAL), h = kfor_n(k, a.qH, KL_SERIAL);
    int i = kfor_n(k, a.qS, KL_SERIAL);
    int g = kdecl(k, DT_IDX, kbin(k, KB_DIV, V(k, h), kc_idx(k, grp)));
    /* key j of this row: from the cache (B, kvH, T, D) or from K in its own layout */
    int j = kfor_n(k, a.T, KL_SERIAL);
    int s = kdecl(k, ct, kc(k, ct, 0));
    int d = kfor_n(k, a.D, KL_REDUCE);
    KExpr *qv = kcast(k, ct, kload(k, Q, qkv_at(k, &a, a.qH, a.qS, a.D, V(k, b), V(k, h), V(k, i),
                                                V(k, d))));
    KExpr *ki = KC >= 0
        ? kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, b), a.kvH), V(k, g)), a.T),
                                V(k, j)), a.D), V(k, d))
        : qkv_at(k, &a, a.kvH, a.kvS, a.D, V(k, b), V(k, g), V(k, j), V(k, d));
    KExpr *kv = kcast(k, ct, kload(k, KC >= 0 ? KC : K, ki));
    kset(k, s, kbin(k, KB_ADD, V(k, s), kbin(k, KB_MUL, qv, kv)));
    kend(k);
    int raw = kdecl(k, ct, V(k, s));
    kset(k, s, kbin(k, KB_MUL, V(k, s), kc(k, ct, scale)));
    int qki = kdecl(k, DT_IDX, kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, b), a.qH),
                                                                     V(k, h)), a.qS), V(k, i)),
                                            a.T), V(k, j)));
    if (QK >= 0 && mode == 0) kstore(k, QK, V(k, qki), kcast(k, t, V(k, s)));
    /* softcap bounds the scores before the mask, so a -inf mask still removes a key */
    if (softcap > 0)
        kset(k, s, kbin(k, KB_MUL, kc(k, ct, softcap),
                        kun(k, KU_TANH, kbin(k, KB_DIV, V(k, s), kc(k, ct, softcap)))));
    att_mask(k, &a, s, ct, M, NP, causal, b, h, i, j);
    /* qk_matmul_output_mode 1: the scaled scores plus the mask, without the softcap */
    if (QK >= 0 && mode == 1) {
        int r = kdecl(k, ct, kbin(k, KB_MUL, V(k, raw), kc(k, ct, scale)));
        att_mask(k, &a, r, ct, M, NP, causal, b, h, i, j);
        kstore(k, QK, V(k, qki), kcast(k, t, V(k, r)));
    }
    if (QK >= 0 && mode == 2) kstore(k, QK, V(k, qki), kcast(k, t, V(k, s)));
    kstore(k, row, V(k, j), V(k, s));
    kend(k);
    /* softmax of the row; a row with every key masked gives probabilities 0, not NaN */
    int mx = kdecl(k, ct, kc(k, ct, -INFINITY));
    j = kfor_n(k, a.T, KL_REDUCE);
    kset(k, mx, kbin(k, KB_MAX, V(k, mx), kload(k, row, V(k, j))));
    kend(k);
    int dead = kdecl(k, DT_BOOL, kbin(k, KB_EQ, V(k, mx), kc(k, ct, -INFINITY)));
    int sum = kdecl(k, ct, kc(k, ct, 0));
    j = kfor_n(k, a.T, KL_SERIAL);
    int ev = kdecl(k, ct, ksel(k, V(k, dead), kc(k, ct, 0),
                               kun(k, KU_EXP, kbin(k, KB_SUB, kload(k, row, V(k, j)), V(k, mx)))));
    kstore(k, row, V(k, j), V(k, ev));
    kset(k, sum, kbin(k, KB_ADD, V(k, sum), V(k, ev)));
    kend(k);
    int inv = kdecl(k, ct, ksel(k, V(k, dead), kc(k, ct, 0),
                                kbin(k, KB_DIV, kc(k, ct, 1), V(k, sum))));
    j = kfor_n(k, a.T, KL_SERIAL);
    kstore(k, row, V(k, j), kbin(k, KB_MUL, kload(k, row, V(k, j)), V(k, inv)));
    if (QK >= 0 && mode == 3)
        kstore(k, QK, kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, b), a.qH), V(k, h)),
                                                    a.qS), V(k, i)), a.T), V(k, j)),
               kcast(k, t, kload(k, row, V(k, j))));
    kend(k);
    /* Y[b, h, i, :] = sum_j p_j V[b, g, j, :] */
    int e = kfor_n(k, a.Dv, KL_SERIAL);
    int acc = kdecl(k, ct, kc(k, ct, 0));
    j = kfor_n(k, a.T, KL_REDUCE);
    KExpr *vi = VC >= 0
        ? kadd(k, kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, b), a.kvH), V(k, g)), a.T),
                                V(k, j)), a.Dv), V(k, e))
        : qkv_at(k, &a, a.kvH, a.kvS, a.Dv, V(k, b), V(k, g), V(k, j), V(k, e));
    kset(k, acc, kbin(k, KB_ADD, V(k, acc), kbin(k, KB_MUL, kload(k, row, V(k, j)),
                                                 kcast(k, ct, kload(k, VC >= 0 ? VC : Vb, vi)))));
    kend(k);
    kstore(k, Y, qkv_at(k, &a, a.qH, a.qS, a.Dv, V(k, b), V(k, h), V(k, i), V(k, e)),
           kcast(k, t, V(k, acc)));
    kend(k);
    kend_n(k, 3);
    return 0;
}

/* ---- LinearAttention (opset 27) -------------------------------------------------------- */

enum { LA_LINEAR, LA_GATED, LA_DELTA, LA_GATED_DELTA };

typedef struct Lin {
    int64_t B, T, qH, kvH, Dk, Dv;
    int rule;
    int64_t dd;                /* decay values per (b, t, kv head): Dk, or 1 per head */
    int64_t hb;                /* beta values per (b, t): kv_heads, or 1 */
} Lin;

static int lin_params(Node *n, Lin *l)
{
    memset(l, 0, sizeof *l);
    const Type *q = att_in(n, 0), *k = att_in(n, 1), *v = att_in(n, 2);
    if (!q || !k || !v) return node_err(n, "needs query, key and value");
    DType t = q->dt;
    if (t != DT_F32 && t != DT_F64 && t != DT_F16 && t != DT_BF16)
        return node_err(n, "unsupported element type %s", dt_name(t));
    if (k->dt != t || v->dt != t) return node_err(n, "query, key and value must have one type");
    if (q->rank != 3 || k->rank != 3 || v->rank != 3)
        return node_err(n, "query, key and value must be 3-D (batch, sequence, heads * size)");
    static const char *const rules[] = { "linear", "gated", "delta", "gated_delta" };
    const char *r = attr_s(n, "update_rule", "gated_delta");
    l->rule = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(r, rules[i])) l->rule = i;
    if (l->rule < 0) return node_err(n, "unknown update_rule '%s'", r);
    l->qH = attr_i(n, "q_num_heads", 0), l->kvH = attr_i(n, "kv_num_heads", 0);
    if (l->qH < 1 || l->kvH < 1 || l->qH % l->kvH)
        return node_err(n, "q_num_heads must be a multiple of kv_num_heads (both >= 1)");
    l->B = q->dims[0], l->T = q->dims[1];
    if (q->dims[2] % l->qH || v->dims[2] % l->kvH)
        return node_err(n, "the hidden sizes do not split into the heads");
    l->Dk = q->dims[2] / l->qH, l->Dv = v->dims[2] / l->kvH;
    if (k->dims[0] != l->B || v->dims[0] != l->B || k->dims[1] != l->T || v->dims[1] != l->T ||
        k->dims[2] != l->kvH * l->Dk)
        return node_err(n, "query, key and value shapes do not match");
    const Type *p = att_in(n, 3), *d = att_in(n, 4), *b = att_in(n, 5);
    if (p && (p->rank != 4 || p->dims[0] != l->B || p->dims[1] != l->kvH ||
              p->dims[2] != l->Dk || p->dims[3] != l->Dv || !dt_is_float(p->dt)))
        return node_err(n, "past_state must be (batch, kv_heads, key size, value size)");
    int gated = l->rule == LA_GATED || l->rule == LA_GATED_DELTA;
    int delta = l->rule == LA_DELTA || l->rule == LA_GATED_DELTA;
    if (gated) {
        if (!d || !dt_is_float(d->dt)) return node_err(n, "update_rule '%s' needs decay", r);
        int64_t per = type_numel(d) / (l->B * l->T * l->kvH);
        if ((per != l->Dk && per != 1) || per * l->B * l->T * l->kvH != type_numel(d))
            return node_err(n, "decay must hold kv_heads * (key size or 1) values per step");
        l->dd = per;
    }
    if (delta) {
        if (!b || !dt_is_float(b->dt)) return node_err(n, "update_rule '%s' needs beta", r);
        int64_t per = type_numel(b) / (l->B * l->T);
        if ((per != l->kvH && per != 1) || per * l->B * l->T != type_numel(b))
            return node_err(n, "beta must hold kv_heads or 1 values per step");
        l->hb = per;
    }
    return 0;
}

int linear_attention_infer(Node *n)
{
    Lin l;
    if (lin_params(n, &l)) return -1;
    DType t = node_in(n, 0)->type.dt;
    int64_t y[3] = { l.B, l.T, l.qH * l.Dv }, st[4] = { l.B, l.kvH, l.Dk, l.Dv };
    if (set_out(n, 0, t, 3, y)) return -1;
    if (node_out(n, 1) && set_out(n, 1, t, 4, st)) return -1;
    return 0;
}

/* Per (batch, kv head) a state S[Dk][Dv] (float32 scratch) walks the sequence: S decays by
 * exp(decay) per key row (gated rules), the written row is v or, for the delta rules,
 * beta (v - S^T k); S += k (x) row; each query head of the group reads scale * q^T S. */
int linear_attention_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Lin l;
    if (lin_params(n, &l)) return -1;
    DType t = node_in(n, 0)->type.dt;
    const DType F = t == DT_F64 ? DT_F64 : DT_F32;
    double scale = attr_f(n, "scale", 0.0f);
    if (scale == 0.0) scale = 1.0 / sqrt((double)l.Dk);
    int Q = lw_in(L, 0), K = lw_in(L, 1), Vb = lw_in(L, 2), Y = lw_out(L, 0);
    int P = att_in(n, 3) ? lw_in(L, 3) : -1, D = l.dd ? lw_in(L, 4) : -1;
    int Bt = l.hb ? lw_in(L, 5) : -1, S = node_out(n, 1) ? lw_out(L, 1) : -1;
    int64_t ss = l.Dk * l.Dv, grp = l.qH / l.kvH;
    if (l.B * l.kvH == 0) return 0;
    int St = lw_temp(L, F, l.B * l.kvH * ss), Wr = lw_temp(L, F, l.B * l.kvH * l.Dv);
    if (St < 0 || Wr < 0) return -1;
    int bv = kfor_n(k, l.B, KL_PARALLEL), gv = kfor_n(k, l.kvH, KL_SERIAL);
    int bg = kdecl(k, DT_IDX, kadd(k, kmuli(k, V(k, bv), l.kvH), V(k, gv)));
    int sb = kdecl(k, DT_IDX, kmuli(k, V(k, bg), ss));
    int i = kfor_n(k, ss, KL_SERIAL);
    kstore(k, St, kadd(k, V(k, sb), V(k, i)),
           P >= 0 ? kcast(k, F, kload(k, P, kadd(k, V(k, sb), V(k, i)))) : kc(k, F, 0));
    kend(k);
    int tv = kfor_n(k, l.T, KL_SERIAL);
    int bt = kdecl(k, DT_IDX, kadd(k, kmuli(k, V(k, bv), l.T), V(k, tv)));
    /* element e of kv head g of key / value at step t */
    int kb = kdecl(k, DT_IDX, kmuli(k, kadd(k, kmuli(k, V(k, bt), l.kvH), V(k, gv)), l.Dk));
    int vb = kdecl(k, DT_IDX, kmuli(k, kadd(k, kmuli(k, V(k, bt), l.kvH), V(k, gv)), l.Dv));
    if (D >= 0) {
        int r = kfor_n(k, l.Dk, KL_SERIAL);
        KExpr *di = l.dd == 1 ? kadd(k, kmuli(k, V(k, bt), l.kvH), V(k, gv))
                              : kadd(k, V(k, kb), V(k, r));
        int e = kdecl(k, F, kun(k, KU_EXP, kcast(k, F, kload(k, D, di))));
        int c = kfor_n(k, l.Dv, KL_SERIAL);
        int si = kdecl(k, DT_IDX, kadd(k, V(k, sb), kadd(k, kmuli(k, V(k, r), l.Dv), V(k, c))));
        kstore(k, St, V(k, si), kbin(k, KB_MUL, kload(k, St, V(k, si)), V(k, e)));
        kend_n(k, 2);
    }
    int wb = kdecl(k, DT_IDX, kmuli(k, V(k, bg), l.Dv));
    int c = kfor_n(k, l.Dv, KL_SERIAL);
    KExpr *vv = kcast(k, F, kload(k, Vb, kadd(k, V(k, vb), V(k, c))));
    if (Bt >= 0) {
        int ret = kdecl(k, F, kc(k, F, 0));
        int r = kfor_n(k, l.Dk, KL_REDUCE);
        kset(k, ret, kbin(k, KB_ADD, V(k, ret),
                          kbin(k, KB_MUL, kload(k, St, kadd(k, V(k, sb), kadd(k, kmuli(k, V(k, r),
                                                                                      l.Dv),
                                                                              V(k, c)))),
                               kcast(k, F, kload(k, K, kadd(k, V(k, kb), V(k, r)))))));
        kend(k);
        KExpr *bi = l.hb == 1 ? V(k, bt) : kadd(k, kmuli(k, V(k, bt), l.kvH), V(k, gv));
        vv = kbin(k, KB_MUL, kcast(k, F, kload(k, Bt, bi)), kbin(k, KB_SUB, vv, V(k, ret)));
    }
    kstore(k, Wr, kadd(k, V(k, wb), V(k, c)), vv);
    kend(k);
    {
        int r = kfor_n(k, l.Dk, KL_SERIAL);
        int kr = kdecl(k, F, kcast(k, F, kload(k, K, kadd(k, V(k, kb), V(k, r)))));
        int c2 = kfor_n(k, l.Dv, KL_SERIAL);
        int si = kdecl(k, DT_IDX, kadd(k, V(k, sb), kadd(k, kmuli(k, V(k, r), l.Dv), V(k, c2))));
        kstore(k, St, V(k, si), kbin(k, KB_ADD, kload(k, St, V(k, si)),
                                     kbin(k, KB_MUL, V(k, kr),
                                          kload(k, Wr, kadd(k, V(k, wb), V(k, c2))))));
        kend_n(k, 2);
    }
    {
        int j = kfor_n(k, grp, KL_SERIAL);
        int h = kdecl(k, DT_IDX, kadd(k, kmuli(k, V(k, gv), grp), V(k, j)));
        int qb = kdecl(k, DT_IDX, kmuli(k, kadd(k, kmuli(k, V(k, bt), l.qH), V(k, h)), l.Dk));
        int c2 = kfor_n(k, l.Dv, KL_SERIAL);
        int acc = kdecl(k, F, kc(k, F, 0));
        int r = kfor_n(k, l.Dk, KL_REDUCE);
        kset(k, acc, kbin(k, KB_ADD, V(k, acc),
                          kbin(k, KB_MUL, kcast(k, F, kload(k, Q, kadd(k, V(k, qb), V(k, r)))),
                               kload(k, St, kadd(k, V(k, sb), kadd(k, kmuli(k, V(k, r), l.Dv),
                                                                  V(k, c2)))))));
        kend(k);
        KExpr *yi = kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, bt), l.qH), V(k, h)), l.Dv), V(k, c2));
        kstore(k, Y, yi, kcast(k, t, kbin(k, KB_MUL, kc(k, F, scale), V(k, acc))));
        kend_n(k, 2);
    }
    kend(k); /* t */
    if (S >= 0) {
        int e = kfor_n(k, ss, KL_SERIAL);
        kstore(k, S, kadd(k, V(k, sb), V(k, e)),
               kcast(k, t, kload(k, St, kadd(k, V(k, sb), V(k, e)))));
        kend(k);
    }
    kend_n(k, 2);
    return 0;
}
