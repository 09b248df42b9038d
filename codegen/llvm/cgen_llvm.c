/* cgen_llvm.c — the LLVM back end for CPUs (x86-64, AArch64, Cortex-M): builds an LLVM
 * module from a KProg (kir.h) through the LLVM-C API only, verifies it, optimises it with
 * the new pass manager (default<O2>/<O3>) and emits NAME.o through a TargetMachine, beside
 * the C back end's NAME.h (cgen_c_header), so the object is a drop-in for NAME.c +
 * NAME_weights.c (Cortex-M: static relocations and the hard-float EABI, for firmware).
 * It reads only the loop IR: no ONNX operator is known here.
 *
 * Choices that keep the object's behaviour identical to the printed C:
 * - scalars are typed exactly as kir.h says; narrow integers (8/16 bit) are computed in
 *   their own width where wrapping gives C's result anyway (add, mul, ...), and widened to
 *   i32 where C's promotion changes the answer or LLVM would make it poison (div, rem,
 *   shifts);
 * - bool is i8 holding 0 or 1 everywhere (memory and registers); any nonzero reads as true;
 * - C's `?:`, `&&` and `||` evaluate one side only, and lowerings rely on that to guard
 *   loads (padding: `inside ? x[i] : 0`), so where an operand can load or trap the back end
 *   branches instead of using `select`; SimplifyCFG turns what is safe back into selects;
 * - float to narrow/u32 integer conversion goes through i64 and truncates, which is what
 *   gcc and clang emit for the C cast on these targets (a plain fptoui would be poison);
 * - weights are private constant globals holding the tensor's bytes, exact by
 *   construction (NaN payloads, -0, infinities);
 * - the arena is one internal zero-initialised global, aligned like the C back end's, or
 *   (--arena extern) NAME_run's first parameter, as in the C back end's prototype;
 * - pointers may be 32-bit (Cortex-M): element indices stay i64 in the IR (GEP takes any
 *   width; the optimiser narrows them to the pointer's), kernel ints follow ptrdiff_t;
 * - float16/bfloat16 live in memory as i16 bit patterns and in registers as float: loads
 *   widen, every arithmetic result is rounded back to 16 bits (numpy's per-operation
 *   rounding), stores narrow. The conversions are integer IR (round to nearest even,
 *   overflow to inf, NaN stays NaN), the same algorithm as the C back end's helpers: no
 *   half support or runtime library (__truncsfhf2 ...) is needed on any target;
 * - functions are internal (one per KFunc); NAME_run is the only external symbol; it takes
 *   one pointer per input/output (after the arena's with --arena extern), which is the C
 *   prototype's ABI (arrays decay);
 * - a runtime kernel call (KS_CALL) is a C-ABI call (ints as ptrdiff_t, floats as
 *   float, buffers as pointers); the runtime, compiled to bitcode per feature level when
 *   onnxcc was built (runtime/bitcode/), is then linked into the module at the best level
 *   the target machine supports, made internal and optimised with the model (link_runtime).
 * Without LLVM (meson -Dllvm=disabled) only the bottom of this file is built: entry points
 * that say how to get the back end. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../codegen.h"
#include "nvptx.h"


#if ONNXCC_HAVE_LLVM

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

int cgen_llvm_available(void)
{
    return 1;
}

/* LLVM's CallingConv::PTX_Kernel: marks an NVPTX function as a kernel entry (.entry). */
#define NV_CALLCONV_PTX_KERNEL 71

typedef struct LG {
    const KProg *p;
    const KFunc *f;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMValueRef fn;          /* function being built */
    LLVMBasicBlockRef entry;  /* allocas go here (mem2reg promotes them) */
    LLVMValueRef *vars;       /* per KVar: its alloca */
    LLVMValueRef *bufs;       /* per KBuf: the parameter */
    LLVMValueRef arena;
    LLVMValueRef *weights;    /* per program tensor: its constant global, or NULL */
    int patch;                /* weights emitted as zeros, written into the object after
                               * (patch_weights), so LLVM holds no copy of them */
    int npatch;               /* how many weight globals patch_weights must find */
    LLVMTypeRef i1, i8, i16, i32, i64, f32, f64, ptr, vd;
    LLVMTypeRef iptr;         /* ptrdiff_t of the target: i64, or i32 on Cortex-M */
    char *err;                /* first error (malloc'd) */
    int nvptx;                /* building kernels for target nvptx */
    StrBuf libdevice_uses;    /* nvptx: "__nv_expf (node3_exp)", one per function needed */
    const char **kern;        /* runtime kernels called (names owned by the KProg) */
    LLVMTypeRef *kern_ty;     /* ... and the function type each is called with */
    int nkern, kern_cap;
} LG;

static void lg_fail(LG *g, char *msg)
{
    if (!g->err) g->err = msg;
    else free(msg);
}

static int is_h16(DType t) { return t == DT_F16 || t == DT_BF16; }

/* Float in registers (16-bit floats are computed on as float). */
static int is_fp(DType t) { return t == DT_F32 || t == DT_F64 || is_h16(t); }

static int is_unsigned(DType t)
{
    return t == DT_U8 || t == DT_U16 || t == DT_U32 || t == DT_U64 || t == DT_BOOL;
}

static int bits(DType t)
{
    switch (t) {
    case DT_I8: case DT_U8: case DT_BOOL: return 8;
    case DT_I16: case DT_U16: case DT_F16: case DT_BF16: return 16;
    case DT_I32: case DT_U32: case DT_F32: return 32;
    case DT_I64: case DT_U64: case DT_IDX: case DT_F64: return 64;
    default: return 0;
    }
}

/* Register type of a computable scalar (16-bit floats: float); NULL for what the back end
 * cannot compute on (strings, complex). */
static LLVMTypeRef ltype(const LG *g, DType t)
{
    switch (t) {
    case DT_F32: case DT_F16: case DT_BF16: return g->f32;
    case DT_F64: return g->f64;
    case DT_I8: case DT_U8: case DT_BOOL: return g->i8;
    case DT_I16: case DT_U16: return g->i16;
    case DT_I32: case DT_U32: return g->i32;
    case DT_I64: case DT_U64: case DT_IDX: return g->i64;
    default: return NULL;
    }
}

/* Memory type of an element: the register type, but i16 bits for 16-bit floats. */
static LLVMTypeRef mtype(const LG *g, DType t)
{
    return is_h16(t) ? g->i16 : ltype(g, t);
}

static LLVMValueRef iconst(LLVMTypeRef t, int64_t v)
{
    return LLVMConstInt(t, (unsigned long long)v, 1);
}

/* ---- declarations of what the code calls ---- */

/* An intrinsic overloaded on one float type (llvm.sqrt.f32 ...). */
static LLVMValueRef intrinsic(LG *g, const char *name, LLVMTypeRef t, LLVMTypeRef *fty)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef ov[1] = { t };
    *fty = LLVMIntrinsicGetType(g->ctx, id, ov, 1);
    return LLVMGetIntrinsicDeclaration(g->mod, id, ov, 1);
}

/* A libm function: readnone for the optimiser (nothing here reads errno), nounwind. */
static LLVMValueRef libm(LG *g, const char *name, LLVMTypeRef t, int nargs, LLVMTypeRef *fty)
{
    LLVMTypeRef params[2] = { t, t };
    *fty = LLVMFunctionType(t, params, (unsigned)nargs, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(g->mod, name);
    if (fn) return fn;
    fn = LLVMAddFunction(g->mod, name, *fty);
    static const char *const attrs[] = { "nounwind", "willreturn", "nosync" };
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
        unsigned k = LLVMGetEnumAttributeKindForName(attrs[i], strlen(attrs[i]));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->ctx, k, 0));
    }
    unsigned mem = LLVMGetEnumAttributeKindForName("memory", 6);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->ctx, mem, 0));
    return fn;
}

/* A libdevice function (nvptx): declared like a libm one; the first use of each is noted
 * for the message given when no libdevice is found. */
static LLVMValueRef nv_func(LG *g, const char *name, LLVMTypeRef t, int nargs, LLVMTypeRef *fty)
{
    if (!LLVMGetNamedFunction(g->mod, name))
        sb_printf(&g->libdevice_uses, "%s%s (%s)", g->libdevice_uses.len ? ", " : "", name,
                  g->f ? g->f->name : "?");
    return libm(g, name, t, nargs, fty);
}

/* ---- expressions ---- */

static LLVMValueRef gen_expr(LG *g, const KExpr *e);

/* Truth of a value of type t as i1 (bool: nonzero; float: != 0 with NaN true, as C's). */
static LLVMValueRef truth(LG *g, LLVMValueRef v, DType t)
{
    if (is_fp(t)) return LLVMBuildFCmp(g->b, LLVMRealUNE, v, LLVMConstNull(ltype(g, t)), "");
    return LLVMBuildICmp(g->b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
}

static LLVMValueRef to_bool(LG *g, LLVMValueRef i1v)
{
    return LLVMBuildZExt(g->b, i1v, g->i8, "");
}

/* 1 when evaluating e could fault or hit undefined behaviour: a load (maybe guarded by
 * the other side of a ?: or &&) or an integer division. */
static int may_trap(const KExpr *e)
{
    if (!e) return 0;
    if (e->kind == KE_LOAD) return 1;
    if (e->kind == KE_BIN && (e->op == KB_DIV || e->op == KB_REM) && !is_fp(e->t)) return 1;
    return may_trap(e->a) || may_trap(e->b) || may_trap(e->c);
}

/* cond ? (then) : (else) with only the taken side evaluated. */
static LLVMValueRef branchy_select(LG *g, LLVMValueRef c1, const KExpr *a, const KExpr *b)
{
    LLVMBasicBlockRef bt = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "sel.t");
    LLVMBasicBlockRef bf = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "sel.f");
    LLVMBasicBlockRef bj = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "sel.j");
    LLVMBuildCondBr(g->b, c1, bt, bf);
    LLVMPositionBuilderAtEnd(g->b, bt);
    LLVMValueRef va = gen_expr(g, a);
    LLVMBasicBlockRef et = LLVMGetInsertBlock(g->b);
    LLVMBuildBr(g->b, bj);
    LLVMPositionBuilderAtEnd(g->b, bf);
    LLVMValueRef vb = gen_expr(g, b);
    LLVMBasicBlockRef ef = LLVMGetInsertBlock(g->b);
    LLVMBuildBr(g->b, bj);
    LLVMPositionBuilderAtEnd(g->b, bj);
    if (!va || !vb) return NULL;
    LLVMValueRef phi = LLVMBuildPhi(g->b, LLVMTypeOf(va), "");
    LLVMValueRef vals[2] = { va, vb };
    LLVMBasicBlockRef blocks[2] = { et, ef };
    LLVMAddIncoming(phi, vals, blocks, 2);
    return phi;
}

/* Integer operands of narrow types, widened to i32 the way C promotes them. */
static LLVMValueRef widen(LG *g, LLVMValueRef v, DType t)
{
    if (bits(t) >= 32) return v;
    return is_unsigned(t) ? LLVMBuildZExt(g->b, v, g->i32, "") : LLVMBuildSExt(g->b, v, g->i32, "");
}

static LLVMValueRef narrow(LG *g, LLVMValueRef v, DType t)
{
    if (bits(t) >= 32) return v;
    return LLVMBuildTrunc(g->b, v, ltype(g, t), "");
}

static LLVMValueRef gen_math1(LG *g, const char *name, LLVMValueRef x, DType t)
{
    LLVMTypeRef fty;
    LLVMValueRef fn;
    static const struct { const char *c; const char *intr; } map[] = {
        { "sqrt", "llvm.sqrt" }, { "floor", "llvm.floor" }, { "ceil", "llvm.ceil" },
        { "rint", "llvm.rint" }, { "exp", "llvm.exp" }, { "log", "llvm.log" },
        { "sin", "llvm.sin" }, { "cos", "llvm.cos" }, { "fabs", "llvm.fabs" },
    };
    LLVMTypeRef ft = ltype(g, t);
    /* NVPTX selects only these intrinsics itself (sqrt.rn, cvt.rmi/rpi/rni, abs); llvm.exp
     * and friends have no lowering there (llc stops with "no libcall available" or "cannot
     * select"), so the rest are libdevice's correctly specified __nv_* functions */
    if (g->nvptx && strcmp(name, "sqrt") && strcmp(name, "floor") && strcmp(name, "ceil") &&
        strcmp(name, "rint") && strcmp(name, "fabs")) {
        char nvname[32];
        snprintf(nvname, sizeof nvname, "__nv_%s%s", name, t != DT_F64 ? "f" : "");
        fn = nv_func(g, nvname, ft, 1, &fty);
        return LLVMBuildCall2(g->b, fty, fn, &x, 1, "");
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].c, name)) {
            fn = intrinsic(g, map[i].intr, ft, &fty);
            return LLVMBuildCall2(g->b, fty, fn, &x, 1, "");
        }
    char cname[32];
    snprintf(cname, sizeof cname, "%s%s", name, t != DT_F64 ? "f" : "");
    fn = libm(g, cname, ft, 1, &fty);
    return LLVMBuildCall2(g->b, fty, fn, &x, 1, "");
}

static LLVMValueRef int_to_fp(LG *g, LLVMValueRef v, DType from, LLVMTypeRef to)
{
    return is_unsigned(from) ? LLVMBuildUIToFP(g->b, v, to, "") : LLVMBuildSIToFP(g->b, v, to, "");
}

/* float -> integer type t as the C cast compiles on x86-64/AArch64: narrow and u32
 * targets convert through i64 (defined for every in-range value and wrapping like the
 * hardware for the rest, where a direct fptoui would be poison). */
static LLVMValueRef fp_to_int(LG *g, LLVMValueRef v, DType t)
{
    if (bits(t) < 32 || t == DT_U32) {
        LLVMValueRef w = LLVMBuildFPToSI(g->b, v, g->i64, "");
        return LLVMBuildTrunc(g->b, w, ltype(g, t), "");
    }
    return is_unsigned(t) ? LLVMBuildFPToUI(g->b, v, ltype(g, t), "")
                          : LLVMBuildFPToSI(g->b, v, ltype(g, t), "");
}

/* ---- float16 / bfloat16 <-> float, in integer IR (see the C back end's helpers) ---- */

static LLVMValueRef u32c(LG *g, uint32_t v)
{
    return LLVMConstInt(g->i32, v, 0);
}

static LLVMValueRef h2f(LG *g, LLVMValueRef h16)
{
    LLVMBuilderRef B = g->b;
    LLVMValueRef h = LLVMBuildZExt(B, h16, g->i32, "");
    LLVMValueRef s = LLVMBuildShl(B, LLVMBuildAnd(B, h, u32c(g, 0x8000), ""), u32c(g, 16), "");
    LLVMValueRef e = LLVMBuildAnd(B, LLVMBuildLShr(B, h, u32c(g, 10), ""), u32c(g, 0x1f), "");
    LLVMValueRef m = LLVMBuildAnd(B, h, u32c(g, 0x3ff), "");
    LLVMValueRef m13 = LLVMBuildShl(B, m, u32c(g, 13), "");
    LLVMValueRef norm = LLVMBuildShl(B, LLVMBuildAdd(B, e, u32c(g, 112), ""), u32c(g, 23), "");
    LLVMValueRef big = LLVMBuildOr(B, s, LLVMBuildOr(B, m13, LLVMBuildSelect(B,
                           LLVMBuildICmp(B, LLVMIntEQ, e, u32c(g, 31), ""), u32c(g, 0x7f800000),
                           norm, ""), ""), "");
    /* zero or subnormal: m * 2^-24, exact in float */
    LLVMValueRef sf = LLVMBuildFMul(B, LLVMBuildUIToFP(B, m, g->f32, ""),
                                    LLVMConstReal(g->f32, 0x1p-24), "");
    LLVMValueRef sub = LLVMBuildOr(B, LLVMBuildBitCast(B, sf, g->i32, ""), s, "");
    LLVMValueRef bitsv = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, e, u32c(g, 0), ""),
                                         sub, big, "");
    return LLVMBuildBitCast(B, bitsv, g->f32, "");
}

/* x + (r > half || (r == half && x odd)): round to nearest even after dropping r */
static LLVMValueRef round_up(LG *g, LLVMValueRef x, LLVMValueRef r, LLVMValueRef half)
{
    LLVMBuilderRef B = g->b;
    LLVMValueRef odd = LLVMBuildTrunc(B, LLVMBuildAnd(B, x, u32c(g, 1), ""), g->i1, "");
    LLVMValueRef up = LLVMBuildOr(B, LLVMBuildICmp(B, LLVMIntUGT, r, half, ""),
                                  LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntEQ, r, half, ""), odd, ""), "");
    return LLVMBuildAdd(B, x, LLVMBuildZExt(B, up, g->i32, ""), "");
}

static LLVMValueRef f2h(LG *g, LLVMValueRef f)
{
    LLVMBuilderRef B = g->b;
    LLVMValueRef u = LLVMBuildBitCast(B, f, g->i32, "");
    LLVMValueRef s = LLVMBuildAnd(B, LLVMBuildLShr(B, u, u32c(g, 16), ""), u32c(g, 0x8000), "");
    LLVMValueRef a = LLVMBuildAnd(B, u, u32c(g, 0x7fffffff), "");
    LLVMValueRef a13 = LLVMBuildLShr(B, a, u32c(g, 13), "");
    LLVMValueRef nan = LLVMBuildOr(B, LLVMBuildAnd(B, a13, u32c(g, 0x3ff), ""), u32c(g, 0x7e00), "");
    /* normal: drop 13 bits */
    LLVMValueRef qn = round_up(g, LLVMBuildSub(B, a13, u32c(g, 0x1c000), ""),
                               LLVMBuildAnd(B, a, u32c(g, 0x1fff), ""), u32c(g, 0x1000));
    /* subnormal: units of 2^-24; the shift is kept in [1, 25] on every path (no poison) */
    LLVMValueRef sh0 = LLVMBuildSub(B, u32c(g, 126), LLVMBuildLShr(B, a, u32c(g, 23), ""), "");
    LLVMValueRef sh = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntUGT,
                          LLVMBuildSub(B, sh0, u32c(g, 1), ""), u32c(g, 23), ""), u32c(g, 25), sh0, "");
    LLVMValueRef m = LLVMBuildOr(B, LLVMBuildAnd(B, a, u32c(g, 0x7fffff), ""), u32c(g, 0x800000), "");
    LLVMValueRef one_sh = LLVMBuildShl(B, u32c(g, 1), sh, "");
    LLVMValueRef qs = round_up(g, LLVMBuildLShr(B, m, sh, ""),
                               LLVMBuildAnd(B, m, LLVMBuildSub(B, one_sh, u32c(g, 1), ""), ""),
                               LLVMBuildLShr(B, one_sh, u32c(g, 1), ""));
    LLVMValueRef r = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntUGE, a, u32c(g, 0x38800000), ""),
                                     qn, qs, "");
    r = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntUGE, a, u32c(g, 0x477ff000), ""),
                        u32c(g, 0x7c00), r, "");
    r = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntUGT, a, u32c(g, 0x7f800000), ""), nan, r, "");
    return LLVMBuildTrunc(B, LLVMBuildOr(B, r, s, ""), g->i16, "");
}

static LLVMValueRef bf2f(LG *g, LLVMValueRef b16)
{
    LLVMValueRef u = LLVMBuildShl(g->b, LLVMBuildZExt(g->b, b16, g->i32, ""), u32c(g, 16), "");
    return LLVMBuildBitCast(g->b, u, g->f32, "");
}

static LLVMValueRef f2bf(LG *g, LLVMValueRef f)
{
    LLVMBuilderRef B = g->b;
    LLVMValueRef u = LLVMBuildBitCast(B, f, g->i32, "");
    LLVMValueRef hi = LLVMBuildLShr(B, u, u32c(g, 16), "");
    LLVMValueRef rnd = LLVMBuildLShr(B, LLVMBuildAdd(B, LLVMBuildAdd(B, u, u32c(g, 0x7fff), ""),
                                     LLVMBuildAnd(B, hi, u32c(g, 1), ""), ""), u32c(g, 16), "");
    LLVMValueRef isnan = LLVMBuildICmp(B, LLVMIntUGT, LLVMBuildAnd(B, u, u32c(g, 0x7fffffff), ""),
                                       u32c(g, 0x7f800000), "");
    LLVMValueRef r = LLVMBuildSelect(B, isnan, LLVMBuildOr(B, hi, u32c(g, 0x40), ""), rnd, "");
    return LLVMBuildTrunc(B, r, g->i16, "");
}

/* A float register value as the bits of 16-bit type t, and back. */
static LLVMValueRef to_bits16(LG *g, LLVMValueRef f, DType t)
{
    return t == DT_F16 ? f2h(g, f) : f2bf(g, f);
}

static LLVMValueRef from_bits16(LG *g, LLVMValueRef b, DType t)
{
    return t == DT_F16 ? h2f(g, b) : bf2f(g, b);
}

/* A float result rounded to 16-bit type t (unchanged for other types). */
static LLVMValueRef round16(LG *g, LLVMValueRef f, DType t)
{
    if (!f || !is_h16(t)) return f;
    return from_bits16(g, to_bits16(g, f, t), t);
}

/* double -> float rounding to odd, so that rounding that to 16 bits rounds once (as
 * numpy's double -> half). Out-of-range values are clamped to the largest (odd) float
 * first: they round to inf in both 16-bit types, and fptrunc need not overflow. */
static LLVMValueRef d2f_odd(LG *g, LLVMValueRef d)
{
    LLVMBuilderRef B = g->b;
    LLVMValueRef mx = LLVMConstReal(g->f64, 0x1.fffffep127), mn = LLVMConstReal(g->f64, -0x1.fffffep127);
    LLVMValueRef dc = LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOGT, d, mx, ""), mx, d, "");
    dc = LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOLT, dc, mn, ""), mn, dc, "");
    LLVMValueRef f = LLVMBuildFPTrunc(B, dc, g->f32, "");
    LLVMValueRef back = LLVMBuildFPExt(B, f, g->f64, "");
    LLVMValueRef inexact = LLVMBuildFCmp(B, LLVMRealONE, back, dc, "");
    LLVMValueRef away = LLVMBuildFCmp(B, LLVMRealOGT, gen_math1(g, "fabs", back, DT_F64),
                                      gen_math1(g, "fabs", dc, DT_F64), "");
    LLVMValueRef u = LLVMBuildBitCast(B, f, g->i32, "");
    u = LLVMBuildSub(B, u, LLVMBuildZExt(B, LLVMBuildAnd(B, inexact, away, ""), g->i32, ""), "");
    u = LLVMBuildOr(B, u, LLVMBuildZExt(B, inexact, g->i32, ""), "");
    return LLVMBuildBitCast(B, u, g->f32, "");
}

static LLVMValueRef gen_un(LG *g, const KExpr *e)
{
    DType at = e->a->t;
    LLVMValueRef a = gen_expr(g, e->a);
    if (!a) return NULL;
    switch (e->op) {
    case KU_NEG:
        return is_fp(at) ? LLVMBuildFNeg(g->b, a, "") : LLVMBuildNeg(g->b, a, "");
    case KU_ABS:
        if (is_fp(at)) return gen_math1(g, "fabs", a, at);
        if (is_unsigned(at)) return a;
        return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, LLVMConstNull(LLVMTypeOf(a)), ""),
                               LLVMBuildNeg(g->b, a, ""), a, "");
    case KU_NOT:
        return to_bool(g, LLVMBuildNot(g->b, truth(g, a, at), ""));
    case KU_BITNOT:
        return LLVMBuildNot(g->b, a, "");
    case KU_ISNAN:
        if (!is_fp(at)) return LLVMConstNull(g->i8);
        return to_bool(g, LLVMBuildFCmp(g->b, LLVMRealUNO, a, a, ""));
    case KU_ISINF: {
        if (!is_fp(at)) return LLVMConstNull(g->i8);
        LLVMValueRef m = gen_math1(g, "fabs", a, at);
        return to_bool(g, LLVMBuildFCmp(g->b, LLVMRealOEQ, m, LLVMConstReal(ltype(g, at), (double)INFINITY), ""));
    }
    default:
        break;
    }
    const char *name = kir_unop_libm(e->op);
    if (!name) {
        lg_fail(g, str_fmt("%s: unknown unary operator %d", g->f->name, e->op));
        return NULL;
    }
    if (is_fp(at)) return gen_math1(g, name, a, at);
    /* integer operand: computed in double and converted back, as the C back end does */
    LLVMValueRef d = int_to_fp(g, a, at, g->f64);
    return fp_to_int(g, gen_math1(g, name, d, DT_F64), e->t);
}

static LLVMValueRef gen_bin(LG *g, const KExpr *e)
{
    DType at = e->a->t;
    int fp = is_fp(at), un = is_unsigned(at);
    /* C's logical operators evaluate the right side only when needed */
    if ((e->op == KB_AND || e->op == KB_OR) && may_trap(e->b)) {
        LLVMValueRef a = gen_expr(g, e->a);
        if (!a) return NULL;
        LLVMValueRef c = truth(g, a, at);
        LLVMBasicBlockRef from = LLVMGetInsertBlock(g->b);
        LLVMBasicBlockRef rhs = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "logic.r");
        LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "logic.j");
        if (e->op == KB_AND) LLVMBuildCondBr(g->b, c, rhs, join);
        else LLVMBuildCondBr(g->b, c, join, rhs);
        LLVMPositionBuilderAtEnd(g->b, rhs);
        LLVMValueRef bv = gen_expr(g, e->b);
        if (!bv) return NULL;
        LLVMValueRef bt = truth(g, bv, e->b->t);
        LLVMBasicBlockRef rend = LLVMGetInsertBlock(g->b);
        LLVMBuildBr(g->b, join);
        LLVMPositionBuilderAtEnd(g->b, join);
        LLVMValueRef phi = LLVMBuildPhi(g->b, g->i1, "");
        LLVMValueRef vals[2] = { LLVMConstInt(g->i1, e->op == KB_OR, 0), bt };
        LLVMBasicBlockRef blocks[2] = { from, rend };
        LLVMAddIncoming(phi, vals, blocks, 2);
        return to_bool(g, phi);
    }
    LLVMValueRef a = gen_expr(g, e->a);
    LLVMValueRef b = a ? gen_expr(g, e->b) : NULL;
    if (!a || !b) return NULL;
    LLVMBuilderRef B = g->b;
    switch (e->op) {
    case KB_ADD: return fp ? LLVMBuildFAdd(B, a, b, "") : LLVMBuildAdd(B, a, b, "");
    case KB_SUB: return fp ? LLVMBuildFSub(B, a, b, "") : LLVMBuildSub(B, a, b, "");
    case KB_MUL: return fp ? LLVMBuildFMul(B, a, b, "") : LLVMBuildMul(B, a, b, "");
    case KB_DIV:
    case KB_REM: {
        int div = e->op == KB_DIV;
        if (fp) return div ? LLVMBuildFDiv(B, a, b, "") : LLVMBuildFRem(B, a, b, "");
        /* narrow types divide as int (C): -128 / -1 is 128, wrapped back to -128 */
        LLVMValueRef wa = widen(g, a, at), wb = widen(g, b, at), r;
        if (div) r = un ? LLVMBuildUDiv(B, wa, wb, "") : LLVMBuildSDiv(B, wa, wb, "");
        else r = un ? LLVMBuildURem(B, wa, wb, "") : LLVMBuildSRem(B, wa, wb, "");
        return narrow(g, r, at);
    }
    case KB_MIN:
    case KB_MAX: {
        /* (a < b ? a : b): with a NaN the comparison is false and b is the result */
        int mn = e->op == KB_MIN;
        LLVMValueRef c = fp ? LLVMBuildFCmp(B, mn ? LLVMRealOLT : LLVMRealOGT, a, b, "")
                            : LLVMBuildICmp(B, mn ? (un ? LLVMIntULT : LLVMIntSLT)
                                                  : (un ? LLVMIntUGT : LLVMIntSGT), a, b, "");
        return LLVMBuildSelect(B, c, a, b, "");
    }
    case KB_POW: {
        LLVMTypeRef fty;
        if (fp) {
            LLVMValueRef fn = g->nvptx ? nv_func(g, at != DT_F64 ? "__nv_powf" : "__nv_pow",
                                                 ltype(g, at), 2, &fty)
                                       : intrinsic(g, "llvm.pow", ltype(g, at), &fty);
            LLVMValueRef args[2] = { a, b };
            return LLVMBuildCall2(B, fty, fn, args, 2, "");
        }
        LLVMValueRef fn = g->nvptx ? nv_func(g, "__nv_pow", g->f64, 2, &fty)
                                   : intrinsic(g, "llvm.pow", g->f64, &fty);
        LLVMValueRef args[2] = { int_to_fp(g, a, at, g->f64), int_to_fp(g, b, at, g->f64) };
        return fp_to_int(g, LLVMBuildCall2(B, fty, fn, args, 2, ""), at);
    }
    case KB_LT: case KB_LE: case KB_GT: case KB_GE: case KB_EQ: case KB_NE: {
        static const LLVMRealPredicate fpp[] = { LLVMRealOLT, LLVMRealOLE, LLVMRealOGT,
                                                 LLVMRealOGE, LLVMRealOEQ, LLVMRealUNE };
        static const LLVMIntPredicate sp[] = { LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE,
                                               LLVMIntEQ, LLVMIntNE };
        static const LLVMIntPredicate up[] = { LLVMIntULT, LLVMIntULE, LLVMIntUGT, LLVMIntUGE,
                                               LLVMIntEQ, LLVMIntNE };
        int k = e->op - KB_LT;
        LLVMValueRef c = fp ? LLVMBuildFCmp(B, fpp[k], a, b, "")
                            : LLVMBuildICmp(B, un ? up[k] : sp[k], a, b, "");
        return to_bool(g, c);
    }
    case KB_AND: return to_bool(g, LLVMBuildAnd(B, truth(g, a, at), truth(g, b, at), ""));
    case KB_OR: return to_bool(g, LLVMBuildOr(B, truth(g, a, at), truth(g, b, at), ""));
    case KB_XOR: return to_bool(g, LLVMBuildXor(B, truth(g, a, at), truth(g, b, at), ""));
    case KB_BAND: return LLVMBuildAnd(B, a, b, "");
    case KB_BOR: return LLVMBuildOr(B, a, b, "");
    case KB_BXOR: return LLVMBuildXor(B, a, b, "");
    case KB_SHL:
    case KB_SHR: {
        /* narrow operands shift as int (C), so shifting a u8 by 8 gives 0, not poison */
        LLVMValueRef wa = widen(g, a, at), wb = widen(g, b, at), r;
        if (e->op == KB_SHL) r = LLVMBuildShl(B, wa, wb, "");
        else r = un ? LLVMBuildLShr(B, wa, wb, "") : LLVMBuildAShr(B, wa, wb, "");
        return narrow(g, r, at);
    }
    default:
        break;
    }
    lg_fail(g, str_fmt("%s: unknown binary operator %d", g->f->name, e->op));
    return NULL;
}

static LLVMValueRef gen_cast(LG *g, const KExpr *e)
{
    DType to = e->t, from = e->a->t;
    LLVMValueRef a = gen_expr(g, e->a);
    if (!a) return NULL;
    LLVMTypeRef tt = ltype(g, to);
    if (to == DT_BOOL) return to_bool(g, truth(g, a, from));
    if (is_h16(to)) {
        /* integers reach 16 bits through float (C's and numpy's way); a double through
         * float rounded to odd, so it is rounded once */
        LLVMValueRef f = from == DT_F64 ? d2f_odd(g, a)
                         : is_fp(from) ? a : int_to_fp(g, a, from, g->f32);
        return round16(g, f, to);
    }
    if (is_fp(to)) {
        if (is_fp(from)) {
            if (from == to || ltype(g, from) == tt) return a;
            return to == DT_F64 ? LLVMBuildFPExt(g->b, a, tt, "") : LLVMBuildFPTrunc(g->b, a, tt, "");
        }
        return int_to_fp(g, a, from, tt);
    }
    if (is_fp(from)) return fp_to_int(g, a, to);
    int fb = bits(from), tb = bits(to);
    if (fb == tb) return a;
    if (fb > tb) return LLVMBuildTrunc(g->b, a, tt, "");
    return is_unsigned(from) ? LLVMBuildZExt(g->b, a, tt, "") : LLVMBuildSExt(g->b, a, tt, "");
}

static LLVMValueRef buf_elem_ptr(LG *g, int buf, const KExpr *idx)
{
    if (buf < 0 || buf >= g->f->nbufs) {
        lg_fail(g, str_fmt("%s: buffer %d out of range", g->f->name, buf));
        return NULL;
    }
    LLVMValueRef i = gen_expr(g, idx);
    if (!i) return NULL;
    if (LLVMTypeOf(i) != g->i64) i = LLVMBuildSExt(g->b, i, g->i64, "");
    return LLVMBuildInBoundsGEP2(g->b, mtype(g, g->f->bufs[buf].t), g->bufs[buf], &i, 1, "");
}

static LLVMValueRef gen_expr(LG *g, const KExpr *e)
{
    if (g->err) return NULL;
    if (!e) {
        lg_fail(g, str_fmt("%s: missing expression", g->f->name));
        return NULL;
    }
    LLVMTypeRef t = ltype(g, e->t);
    if (!t || (e->kind != KE_CAST && e->a && !ltype(g, e->a->t))) {
        lg_fail(g, str_fmt("%s: type %s cannot be computed on by the LLVM back end",
                            g->f->name, dt_name(t ? e->a->t : e->t)));
        return NULL;
    }
    switch (e->kind) {
    case KE_CONST:
        if (is_fp(e->t)) return LLVMConstReal(t, e->t == DT_F32 ? (double)(float)e->f : e->f);
        return iconst(t, e->t == DT_BOOL ? e->i != 0 : e->i);
    case KE_VAR:
        if (e->id < 0 || e->id >= g->f->nvars || !g->vars[e->id]) {
            lg_fail(g, str_fmt("%s: variable %d read before its declaration", g->f->name, e->id));
            return NULL;
        }
        return LLVMBuildLoad2(g->b, t, g->vars[e->id], "");
    case KE_LOAD: {
        LLVMValueRef ptr = buf_elem_ptr(g, e->id, e->a);
        if (!ptr) return NULL;
        LLVMValueRef v = LLVMBuildLoad2(g->b, mtype(g, e->t), ptr, "");
        LLVMSetAlignment(v, (unsigned)(bits(e->t) / 8));
        return is_h16(e->t) ? from_bits16(g, v, e->t) : v;
    }
    case KE_UN:
        return round16(g, gen_un(g, e), e->t);
    case KE_BIN:
        return round16(g, gen_bin(g, e), e->t);
    case KE_SELECT: {
        LLVMValueRef c = gen_expr(g, e->a);
        if (!c) return NULL;
        LLVMValueRef c1 = truth(g, c, e->a->t);
        if (may_trap(e->b) || may_trap(e->c)) return branchy_select(g, c1, e->b, e->c);
        LLVMValueRef x = gen_expr(g, e->b), y = x ? gen_expr(g, e->c) : NULL;
        if (!x || !y) return NULL;
        return LLVMBuildSelect(g->b, c1, x, y, "");
    }
    case KE_CAST:
        if (!ltype(g, e->a->t)) {
            lg_fail(g, str_fmt("%s: cast from %s to %s is not supported by the LLVM back end",
                                g->f->name, dt_name(e->a->t), dt_name(e->t)));
            return NULL;
        }
        return gen_cast(g, e);
    case KE_BITCAST: {
        LLVMValueRef a = gen_expr(g, e->a);
        if (!a) return NULL;
        return LLVMTypeOf(a) == t ? a : LLVMBuildBitCast(g->b, a, t, "");
    }
    }
    lg_fail(g, str_fmt("%s: unknown expression kind %d", g->f->name, (int)e->kind));
    return NULL;
}

/* ---- statements ---- */

static LLVMValueRef var_slot(LG *g, int v)
{
    if (v < 0 || v >= g->f->nvars) {
        lg_fail(g, str_fmt("%s: variable %d out of range", g->f->name, v));
        return NULL;
    }
    if (!g->vars[v]) {
        LLVMTypeRef t = ltype(g, g->f->vars[v].t);
        if (!t) {
            lg_fail(g, str_fmt("%s: variable of type %s", g->f->name, dt_name(g->f->vars[v].t)));
            return NULL;
        }
        /* allocas in the entry block, before its terminator, so mem2reg promotes them */
        LLVMBuilderRef ab = LLVMCreateBuilderInContext(g->ctx);
        LLVMPositionBuilderBefore(ab, LLVMGetBasicBlockTerminator(g->entry));
        g->vars[v] = LLVMBuildAlloca(ab, t, g->f->vars[v].name ? g->f->vars[v].name : "v");
        LLVMDisposeBuilder(ab);
    }
    return g->vars[v];
}

static void gen_block(LG *g, const KStmt *s);

/* A runtime kernel call with the C ABI of its onnxcc_rt.h prototype, read from the
 * arguments' kinds: KA_INT is ptrdiff_t (g->iptr), KA_FLOAT is float,
 * KA_BUF a pointer to element `off` of the buffer (NULL for buf < 0). The kernel is
 * declared here and defined once the runtime bitcode is linked in (link_runtime). */
static void gen_call(LG *g, const KStmt *s)
{
    if (g->nvptx) {
        lg_fail(g, str_fmt("%s: runtime kernel %s: target nvptx has no runtime kernels",
                            g->f->name, s->fn ? s->fn : "(unnamed)"));
        return;
    }
    if (!s->fn || !*s->fn || s->nargs < 0) {
        lg_fail(g, str_fmt("%s: kernel call without a name", g->f->name));
        return;
    }
    int n = s->nargs;
    LLVMTypeRef *pt = calloc((size_t)n + 1, sizeof *pt);
    LLVMValueRef *av = calloc((size_t)n + 1, sizeof *av);
    if (!pt || !av) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    for (int i = 0; i < n && !g->err; i++) {
        const KArg *a = &s->args[i];
        switch (a->kind) {
        case KA_INT:
            pt[i] = g->iptr;
            av[i] = LLVMConstInt(g->iptr, (unsigned long long)a->i, 1);
            break;
        case KA_FLOAT:
            pt[i] = g->f32;
            av[i] = LLVMConstReal(g->f32, (double)(float)a->f);
            break;
        case KA_BUF:
            pt[i] = g->ptr;
            if (a->buf < 0) av[i] = LLVMConstNull(g->ptr);
            else if (a->off) av[i] = buf_elem_ptr(g, a->buf, a->off);
            else if (a->buf < g->f->nbufs) av[i] = g->bufs[a->buf];
            else lg_fail(g, str_fmt("%s: %s argument %d: buffer %d out of range", g->f->name,
                                    s->fn, i, a->buf));
            break;
        default:
            lg_fail(g, str_fmt("%s: %s argument %d has unknown kind %d", g->f->name, s->fn, i,
                                (int)a->kind));
        }
    }
    if (g->err) goto out;
    LLVMTypeRef fty = LLVMFunctionType(g->vd, pt, (unsigned)n, 0);
    int k = 0;
    while (k < g->nkern && strcmp(g->kern[k], s->fn)) k++;
    if (k == g->nkern) {
        if (LLVMGetNamedFunction(g->mod, s->fn)) {
            lg_fail(g, str_fmt("%s: runtime kernel %s has the name of a function of the model",
                                g->f->name, s->fn));
            goto out;
        }
        if (g->nkern == g->kern_cap) {
            g->kern_cap = g->kern_cap ? 2 * g->kern_cap : 8;
            g->kern = realloc(g->kern, (size_t)g->kern_cap * sizeof *g->kern);
            g->kern_ty = realloc(g->kern_ty, (size_t)g->kern_cap * sizeof *g->kern_ty);
            if (!g->kern || !g->kern_ty) {
                fputs("onnxcc: out of memory\n", stderr);
                exit(1);
            }
        }
        g->kern[k] = s->fn;
        g->kern_ty[k] = fty;
        g->nkern++;
        LLVMValueRef fn = LLVMAddFunction(g->mod, s->fn, fty);
        unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(g->ctx, nounwind, 0));
    } else if (g->kern_ty[k] != fty) {
        lg_fail(g, str_fmt("%s: runtime kernel %s is called with %d arguments of other kinds "
                            "than elsewhere in the program", g->f->name, s->fn, n));
        goto out;
    }
    LLVMValueRef fn = LLVMGetNamedFunction(g->mod, s->fn);
    LLVMBuildCall2(g->b, fty, fn, av, (unsigned)n, "");
out:
    free(pt);
    free(av);
}

static void gen_stmt(LG *g, const KStmt *s)
{
    switch (s->kind) {
    case KS_FOR: {
        LLVMValueRef slot = var_slot(g, s->var);
        LLVMValueRef lo = slot ? gen_expr(g, s->lo) : NULL;
        if (!lo) return;
        DType vt = g->f->vars[s->var].t;
        LLVMBuildStore(g->b, lo, slot);
        LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "for.head");
        LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "for.body");
        LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "for.end");
        LLVMBuildBr(g->b, head);
        LLVMPositionBuilderAtEnd(g->b, head);
        /* the bound is evaluated every iteration, as C's `v < hi` is */
        LLVMValueRef hi = gen_expr(g, s->hi);
        if (!hi) return;
        LLVMValueRef v = LLVMBuildLoad2(g->b, ltype(g, vt), slot, "");
        LLVMValueRef c = is_fp(vt) ? LLVMBuildFCmp(g->b, LLVMRealOLT, v, hi, "")
                                   : LLVMBuildICmp(g->b, is_unsigned(vt) ? LLVMIntULT : LLVMIntSLT,
                                                   v, hi, "");
        LLVMBuildCondBr(g->b, c, body, exit);
        LLVMPositionBuilderAtEnd(g->b, body);
        gen_block(g, s->body);
        if (g->err) return;
        LLVMValueRef cur = LLVMBuildLoad2(g->b, ltype(g, vt), slot, "");
        LLVMValueRef one = is_fp(vt) ? LLVMConstReal(ltype(g, vt), 1.0) : iconst(ltype(g, vt), 1);
        LLVMValueRef nx = is_fp(vt) ? LLVMBuildFAdd(g->b, cur, one, "") : LLVMBuildAdd(g->b, cur, one, "");
        LLVMBuildStore(g->b, nx, slot);
        LLVMBuildBr(g->b, head);
        LLVMPositionBuilderAtEnd(g->b, exit);
        return;
    }
    case KS_IF: {
        LLVMValueRef c = gen_expr(g, s->cond);
        if (!c) return;
        LLVMValueRef c1 = truth(g, c, s->cond->t);
        LLVMBasicBlockRef bt = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "if.then");
        LLVMBasicBlockRef be = s->els ? LLVMAppendBasicBlockInContext(g->ctx, g->fn, "if.else") : NULL;
        LLVMBasicBlockRef bj = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "if.end");
        LLVMBuildCondBr(g->b, c1, bt, be ? be : bj);
        LLVMPositionBuilderAtEnd(g->b, bt);
        gen_block(g, s->body);
        if (g->err) return;
        LLVMBuildBr(g->b, bj);
        if (be) {
            LLVMPositionBuilderAtEnd(g->b, be);
            gen_block(g, s->els);
            if (g->err) return;
            LLVMBuildBr(g->b, bj);
        }
        LLVMPositionBuilderAtEnd(g->b, bj);
        return;
    }
    case KS_DECL: {
        LLVMValueRef slot = var_slot(g, s->var);
        if (!slot) return;
        LLVMValueRef v = s->val ? gen_expr(g, s->val)
                                : LLVMConstNull(ltype(g, g->f->vars[s->var].t));
        if (v) LLVMBuildStore(g->b, v, slot);
        return;
    }
    case KS_SET: {
        LLVMValueRef slot = var_slot(g, s->var);
        LLVMValueRef v = slot ? gen_expr(g, s->val) : NULL;
        if (v) LLVMBuildStore(g->b, v, slot);
        return;
    }
    case KS_STORE: {
        LLVMValueRef ptr = buf_elem_ptr(g, s->buf, s->idx);
        LLVMValueRef v = ptr ? gen_expr(g, s->val) : NULL;
        if (!v) return;
        if (s->val->t != g->f->bufs[s->buf].t &&
            ltype(g, s->val->t) != ltype(g, g->f->bufs[s->buf].t)) {
            lg_fail(g, str_fmt("%s: stores %s into a %s buffer", g->f->name,
                                dt_name(s->val->t), dt_name(g->f->bufs[s->buf].t)));
            return;
        }
        if (is_h16(g->f->bufs[s->buf].t)) v = to_bits16(g, v, g->f->bufs[s->buf].t);
        LLVMValueRef st = LLVMBuildStore(g->b, v, ptr);
        LLVMSetAlignment(st, (unsigned)(bits(g->f->bufs[s->buf].t) / 8));
        return;
    }
    case KS_CALL:
        gen_call(g, s);
        return;
    }
    lg_fail(g, str_fmt("%s: unknown statement kind %d", g->f->name, (int)s->kind));
}

static void gen_block(LG *g, const KStmt *s)
{
    for (; s && !g->err; s = s->next) gen_stmt(g, s);
}

/* Byte range of a buffer's storage in the arena, or -1 when it is not an arena tensor. */
static int arena_range(const LG *g, const KBuf *b, int64_t *lo, int64_t *hi)
{
    const KTensor *t = &g->p->tensors[b->tensor];
    if (t->kind != KT_ARENA) return -1;
    *lo = t->offset;
    *hi = t->offset + t->n * dt_size(t->t);
    return 0;
}

/* noalias on a parameter is safe when its storage overlaps no other parameter's that
 * anyone writes: weights are never written, distinct arena ranges never overlap. The
 * caller's input/output arrays are only known not to overlap the arena and the weights. */
static int buf_noalias(const LG *g, const KFunc *f, int i)
{
    const KBuf *bi = &f->bufs[i];
    const KTensor *ti = &g->p->tensors[bi->tensor];
    for (int j = 0; j < f->nbufs; j++) {
        if (j == i) continue;
        const KBuf *bj = &f->bufs[j];
        const KTensor *tj = &g->p->tensors[bj->tensor];
        if (bi->role == KR_IN && bj->role == KR_IN) continue;
        if (ti->kind == KT_CONST || tj->kind == KT_CONST) {
            if (bi->tensor == bj->tensor && (bi->role != KR_IN || bj->role != KR_IN)) return 0;
            continue;
        }
        int64_t a0, a1, b0, b1;
        int ia = arena_range(g, bi, &a0, &a1) == 0, ib = arena_range(g, bj, &b0, &b1) == 0;
        if (ia && ib) {
            if (a0 < b1 && b0 < a1) return 0;
            continue;
        }
        if (ia != ib) continue;      /* arena vs caller's array: distinct objects */
        if (bi->tensor != bj->tensor && ti->kind != tj->kind) continue; /* in vs out */
        return 0;
    }
    return 1;
}

/* Opens a function over f's buffers and leaves the builder in its body: internal (CPU),
 * or a PTX kernel entry (nvptx: the ptx_kernel calling convention, external). */
static void func_open(LG *g, const KFunc *f, const char *name, int kernel)
{
    g->f = f;
    LLVMTypeRef *params = calloc((size_t)f->nbufs + 1, sizeof *params);
    g->vars = calloc((size_t)f->nvars + 1, sizeof *g->vars);
    g->bufs = calloc((size_t)f->nbufs + 1, sizeof *g->bufs);
    if (!params || !g->vars || !g->bufs) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    for (int i = 0; i < f->nbufs; i++) {
        params[i] = g->ptr;
        if (!ltype(g, f->bufs[i].t))
            lg_fail(g, str_fmt("%s: buffer %d has type %s, which the LLVM back end cannot hold",
                                f->name, i, dt_name(f->bufs[i].t)));
    }
    LLVMTypeRef fty = LLVMFunctionType(g->vd, params, (unsigned)f->nbufs, 0);
    g->fn = LLVMAddFunction(g->mod, name, fty);
    if (kernel) LLVMSetFunctionCallConv(g->fn, NV_CALLCONV_PTX_KERNEL);
    else LLVMSetLinkage(g->fn, LLVMInternalLinkage);
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(g->fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(g->ctx, nounwind, 0));
    unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
    unsigned nocapture = LLVMGetEnumAttributeKindForName("nocapture", 9);
    for (int i = 0; i < f->nbufs; i++) {
        g->bufs[i] = LLVMGetParam(g->fn, (unsigned)i);
        LLVMSetValueName2(g->bufs[i], f->bufs[i].name ? f->bufs[i].name : "b",
                          strlen(f->bufs[i].name ? f->bufs[i].name : "b"));
        LLVMAddAttributeAtIndex(g->fn, (unsigned)i + 1, LLVMCreateEnumAttribute(g->ctx, nocapture, 0));
        if (!g->err && buf_noalias(g, f, i))
            LLVMAddAttributeAtIndex(g->fn, (unsigned)i + 1, LLVMCreateEnumAttribute(g->ctx, noalias, 0));
    }
    g->entry = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "entry");
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "start");
    LLVMPositionBuilderAtEnd(g->b, g->entry);
    LLVMBuildBr(g->b, start);
    LLVMPositionBuilderAtEnd(g->b, start);
    free(params);
}

static void func_close(LG *g)
{
    LLVMBuildRetVoid(g->b);
    free(g->vars);
    free(g->bufs);
    g->vars = g->bufs = NULL;
}

static void gen_func(LG *g, const KFunc *f)
{
    func_open(g, f, f->name, 0);
    if (!g->err) gen_block(g, f->body);
    func_close(g);
}

/* ---- nvptx kernels ---- */

/* A special register (llvm.nvvm.read.ptx.sreg.tid.x ...), widened to i64. */
static LLVMValueRef sreg(LG *g, const char *which)
{
    char name[64];
    snprintf(name, sizeof name, "llvm.nvvm.read.ptx.sreg.%s", which);
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->mod, id, NULL, 0);
    LLVMTypeRef fty = LLVMIntrinsicGetType(g->ctx, id, NULL, 0);
    return LLVMBuildZExt(g->b, LLVMBuildCall2(g->b, fty, fn, NULL, 0, ""), g->i64, "");
}

/* One kernel of the plan (nvptx.h). Mapped loops become a grid-stride loop over a flat
 * index: for (id = ctaid.x * ntid.x + tid.x; id < threads; id += ntid.x * nctaid.x), the
 * loop variables recovered from id innermost first (row-major, like the nest's own order),
 * then the innermost mapped loop's body runs as it would in the serial nest. */
static void gen_kernel(LG *g, const NvKernel *k)
{
    const KFunc *f = g->p->funcs[k->func];
    func_open(g, f, k->name, 1);
    if (g->err) {
        func_close(g);
        return;
    }
    if (!k->nmapped) {
        if (k->stmt) gen_stmt(g, k->stmt);
        else gen_block(g, f->body);
        func_close(g);
        return;
    }
    LLVMBuilderRef B = g->b;
    LLVMValueRef ntid = sreg(g, "ntid.x"), ctaid = sreg(g, "ctaid.x");
    LLVMValueRef tid = sreg(g, "tid.x"), nctaid = sreg(g, "nctaid.x");
    LLVMValueRef id0 = LLVMBuildNUWAdd(B, LLVMBuildNUWMul(B, ctaid, ntid, ""), tid, "");
    LLVMValueRef stride = LLVMBuildNUWMul(B, ntid, nctaid, "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "grid.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "grid.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "grid.end");
    LLVMBuildBr(B, head);
    LLVMPositionBuilderAtEnd(B, head);
    LLVMValueRef id = LLVMBuildPhi(B, g->i64, "id");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, id, iconst(g->i64, k->threads), ""), body, exit);
    LLVMPositionBuilderAtEnd(B, body);
    LLVMValueRef rem = id;
    for (int j = k->nmapped - 1; j >= 0 && !g->err; j--) {
        const KStmt *s = k->mapped[j];
        LLVMValueRef slot = var_slot(g, s->var);
        if (!slot) break;
        if (ltype(g, f->vars[s->var].t) != g->i64) {
            lg_fail(g, str_fmt("%s: loop variable of type %s", f->name, dt_name(f->vars[s->var].t)));
            break;
        }
        int64_t trip = s->hi->i - s->lo->i;
        LLVMValueRef v = j ? LLVMBuildURem(B, rem, iconst(g->i64, trip), "") : rem;
        LLVMBuildStore(B, LLVMBuildNSWAdd(B, v, iconst(g->i64, s->lo->i), ""), slot);
        if (j) rem = LLVMBuildUDiv(B, rem, iconst(g->i64, trip), "");
    }
    if (!g->err) gen_block(g, k->mapped[k->nmapped - 1]->body);
    if (g->err) {
        func_close(g);
        return;
    }
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(B);
    LLVMValueRef next = LLVMBuildNUWAdd(B, id, stride, "");
    LLVMBuildBr(B, head);
    LLVMValueRef vals[2] = { id0, next };
    LLVMBasicBlockRef blocks[2] = { pre, latch };
    LLVMAddIncoming(id, vals, blocks, 2);
    LLVMPositionBuilderAtEnd(B, exit);
    func_close(g);
}

/* The pointer NAME_run passes for a function's buffer. */
static LLVMValueRef run_arg(LG *g, LLVMValueRef run, const KBuf *b)
{
    const KTensor *t = &g->p->tensors[b->tensor];
    switch (t->kind) {
    case KT_INPUT:
        for (int i = 0; i < g->p->ninputs; i++)
            if (g->p->inputs[i] == b->tensor)
                return LLVMGetParam(run, (unsigned)((g->p->arena_extern ? 1 : 0) + i));
        break;
    case KT_OUTPUT:
        for (int i = 0; i < g->p->noutputs; i++)
            if (g->p->outputs[i] == b->tensor)
                return LLVMGetParam(run, (unsigned)((g->p->arena_extern ? 1 : 0) +
                                                    g->p->ninputs + i));
        break;
    case KT_CONST:
        return g->weights[b->tensor];
    case KT_ARENA: {
        LLVMValueRef off = iconst(g->i64, t->offset);
        return LLVMBuildInBoundsGEP2(g->b, g->i8, g->arena, &off, 1, "");
    }
    }
    return NULL;
}

/* Checks the bindings the module relies on (like cgen_c's check), before building. */
static char *check_prog(const LG *g)
{
    const KProg *p = g->p;
    if (!p->name || !*p->name) return str_fmt("program has no name");
    /* of the firmware API only --arena extern (and the sections) are built here */
    if (p->weights_bin || p->io_in_arena || (g->nvptx && p->arena_extern))
        return str_fmt("the %s back end does not support %s yet (use --target c)",
                        g->nvptx ? "nvptx" : "LLVM", p->weights_bin ? "a weights blob"
                        : p->io_in_arena ? "I/O in the arena" : "an extern arena");
    for (int i = 0; i < p->ninputs; i++)
        if (p->inputs[i] < 0 || p->inputs[i] >= p->ntensors) return str_fmt("bad input %d", i);
    for (int i = 0; i < p->noutputs; i++)
        if (p->outputs[i] < 0 || p->outputs[i] >= p->ntensors) return str_fmt("bad output %d", i);
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        if (!f->name) return str_fmt("function %d has no name", fi);
        char err[256];
        if (kir_verify(f, err, sizeof err) != 0) return str_fmt("%s: %s", f->name, err);
        for (int b = 0; b < f->nbufs; b++) {
            const KBuf *kb = &f->bufs[b];
            if (kb->tensor < 0 || kb->tensor >= p->ntensors)
                return str_fmt("%s: buffer %d is bound to no tensor", f->name, b);
            const KTensor *t = &p->tensors[kb->tensor];
            if (kb->role != KR_IN && (t->kind == KT_INPUT || t->kind == KT_CONST))
                return str_fmt("%s: buffer %d writes read-only tensor '%s'", f->name, b, t->name);
            if (t->kind == KT_CONST && t->n > 0 && !t->data)
                return str_fmt("constant tensor '%s' has no data", t->name);
            if (t->kind == KT_ARENA &&
                (t->offset < 0 || t->offset + t->n * dt_size(t->t) > p->arena_bytes))
                return str_fmt("arena tensor '%s' lies outside the %" PRId64 "-byte arena",
                                t->name, p->arena_bytes);
        }
    }
    return NULL;
}

static void build_module(LG *g)
{
    const KProg *p = g->p;
    /* weights: the tensor's bytes (host layout = both targets' little-endian layout) */
    g->weights = calloc((size_t)p->ntensors + 1, sizeof *g->weights);
    if (!g->weights) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    /* a cache line, or the target's own alignment where it is smaller (Cortex-M: flash is
     * scarce and has no cache lines to fill) */
    unsigned walign = p->arena_align >= 8 && p->arena_align < 64 ? (unsigned)p->arena_align : 64;
    for (int fi = 0; fi < p->nfuncs; fi++)
        for (int b = 0; b < p->funcs[fi]->nbufs; b++) {
            int ti = p->funcs[fi]->bufs[b].tensor;
            const KTensor *t = &p->tensors[ti];
            if (t->kind != KT_CONST || g->weights[ti]) continue;
            size_t bytes = t->n > 0 ? (size_t)t->n * (size_t)dt_size(t->t) : 0;
            int later = g->patch && bytes;
            LLVMValueRef init = bytes && !later
                                    ? LLVMConstStringInContext2(g->ctx, t->data, bytes, 1)
                                    : LLVMConstNull(LLVMArrayType2(g->i8, bytes ? bytes : 1));
            char *name = str_fmt("%s_w%d", p->name, ti);
            LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), name);
            free(name);
            LLVMSetInitializer(gv, init);
            LLVMSetGlobalConstant(gv, 1);
            if (later) {
                /* zeros now (a fill, no bytes held), the weights written over them in the
                 * object; externally initialised, so no pass folds a load to 0. Internal:
                 * the symbol stays in .symtab for patch_weights to find */
                LLVMSetExternallyInitialized(gv, 1);
                LLVMSetLinkage(gv, LLVMInternalLinkage);
                g->npatch++;
            } else {
                LLVMSetLinkage(gv, LLVMPrivateLinkage);
                LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
            }
            LLVMSetAlignment(gv, walign);
            if (p->section_weights) LLVMSetSection(gv, p->section_weights);
            g->weights[ti] = gv;
        }
    /* the arena, aligned at least like the planner's slots and a cache line (or the
     * target's own alignment where it is smaller); with --arena extern it is the caller's */
    if (!p->arena_extern) {
        uint64_t abytes = p->arena_bytes > 0 ? (uint64_t)p->arena_bytes : 1;
        LLVMTypeRef aty = LLVMArrayType2(g->i8, abytes);
        char *aname = str_fmt("%s_arena", p->name);
        g->arena = LLVMAddGlobal(g->mod, aty, aname);
        free(aname);
        LLVMSetInitializer(g->arena, LLVMConstNull(aty));
        LLVMSetLinkage(g->arena, LLVMInternalLinkage);
        unsigned align = p->arena_align > 64 ? (unsigned)p->arena_align : walign;
        LLVMSetAlignment(g->arena, align);
        if (p->section_arena) LLVMSetSection(g->arena, p->section_arena);
    }

    for (int fi = 0; fi < p->nfuncs && !g->err; fi++) gen_func(g, p->funcs[fi]);
    if (g->err) return;

    /* int NAME_run([void *arena,] const T *in..., T *out...) */
    int ax = p->arena_extern ? 1 : 0;
    int np = ax + p->ninputs + p->noutputs;
    LLVMTypeRef *params = calloc((size_t)np + 1, sizeof *params);
    if (!params) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    for (int i = 0; i < np; i++) params[i] = g->ptr;
    char *rname = str_fmt("%s_run", p->name);
    LLVMValueRef run = LLVMAddFunction(g->mod, rname, LLVMFunctionType(g->i32, params, (unsigned)np, 0));
    free(rname);
    free(params);
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(run, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->ctx, nounwind, 0));
    for (int i = 0; i < np - ax; i++) {
        const KTensor *t = &p->tensors[i < p->ninputs ? p->inputs[i] : p->outputs[i - p->ninputs]];
        LLVMSetValueName2(LLVMGetParam(run, (unsigned)(ax + i)), t->name, strlen(t->name));
    }
    if (ax) {
        g->arena = LLVMGetParam(run, 0);
        LLVMSetValueName2(g->arena, "onnxcc_arena", 12);
        /* the header promises ARENA_ALIGN; the caller's inputs and outputs are other objects */
        unsigned k = LLVMGetEnumAttributeKindForName("align", 5);
        LLVMAddAttributeAtIndex(run, 1, LLVMCreateEnumAttribute(g->ctx, k,
                                (uint64_t)(p->arena_align > 0 ? p->arena_align : 1)));
        k = LLVMGetEnumAttributeKindForName("noalias", 7);
        LLVMAddAttributeAtIndex(run, 1, LLVMCreateEnumAttribute(g->ctx, k, 0));
    }
    LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(g->ctx, run, "entry"));
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        if (f->skip) continue;   /* an aliased copy: its output already is its input */
        LLVMValueRef fn = LLVMGetNamedFunction(g->mod, f->name);
        LLVMValueRef *args = calloc((size_t)f->nbufs + 1, sizeof *args);
        if (!args) {
            fputs("onnxcc: out of memory\n", stderr);
            exit(1);
        }
        for (int b = 0; b < f->nbufs; b++) {
            args[b] = run_arg(g, run, &f->bufs[b]);
            if (!args[b]) {
                lg_fail(g, str_fmt("%s: buffer %d is bound to tensor '%s', which NAME_run does "
                                    "not receive", f->name, b, p->tensors[f->bufs[b].tensor].name));
                free(args);
                return;
            }
        }
        LLVMBuildCall2(g->b, LLVMGlobalGetValueType(fn), fn, args, (unsigned)f->nbufs, "");
        free(args);
    }
    LLVMBuildRet(g->b, LLVMConstInt(g->i32, 0, 0));
}

static int write_out(const char *dir, const char *file, const void *data, size_t len, char **err)
{
    char *path = str_fmt("%s/%s", dir, file);
    int rc = write_file_atomic(path, data, len);
    if (rc != 0) *err = str_fmt("cannot write %s: %s", path, strerror(errno));
    free(path);
    return rc;
}

static void init_targets(void)
{
    static int done;
    if (done) return;
    done = 1;
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeAArch64TargetInfo();
    LLVMInitializeAArch64Target();
    LLVMInitializeAArch64TargetMC();
    LLVMInitializeAArch64AsmPrinter();
    LLVMInitializeARMTargetInfo();
    LLVMInitializeARMTarget();
    LLVMInitializeARMTargetMC();
    LLVMInitializeARMAsmPrinter();
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
}

/* ---- nvptx: libdevice ---- */

/* NVIDIA's libdevice (the CUDA toolkit's bitcode math library): $ONNXCC_LIBDEVICE, else
 * under $CUDA_HOME / $CUDA_PATH, else the toolkit's usual install places. NULL if none. */
static char *find_libdevice(void)
{
    const char *env = getenv("ONNXCC_LIBDEVICE");
    if (env && *env) return str_fmt("%s", env);
    static const char *const homes[] = { "CUDA_HOME", "CUDA_PATH" };
    static const char *const places[] = {
        "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc",
        "/usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc",
        "/usr/lib/cuda/nvvm/libdevice/libdevice.10.bc",
    };
    struct stat st;
    for (size_t i = 0; i < sizeof homes / sizeof homes[0]; i++) {
        const char *h = getenv(homes[i]);
        if (!h || !*h) continue;
        char *path = str_fmt("%s/nvvm/libdevice/libdevice.10.bc", h);
        if (stat(path, &st) == 0) return path;
        free(path);
    }
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
        if (stat(places[i], &st) == 0) return str_fmt("%s", places[i]);
    return NULL;
}

/* Links libdevice into g->mod and makes every function but the kernels internal, so the
 * optimiser inlines what is used and drops the rest (clang's -mlink-builtin-bitcode). */
static char *link_libdevice(LG *g)
{
    char *path = find_libdevice();
    if (!path)
        return str_fmt("target nvptx: math functions not supported without NVIDIA's "
                        "libdevice (libdevice.10.bc from the CUDA toolkit), which was not "
                        "found: %s; set ONNXCC_LIBDEVICE=/path/to/libdevice.10.bc or CUDA_HOME",
                        g->libdevice_uses.buf);
    LLVMMemoryBufferRef mb = NULL;
    char *msg = NULL;
    if (LLVMCreateMemoryBufferWithContentsOfFile(path, &mb, &msg)) {
        char *r = str_fmt("cannot read libdevice %s: %s", path, msg ? msg : "");
        LLVMDisposeMessage(msg);
        free(path);
        return r;
    }
    LLVMModuleRef ld = NULL;
    if (LLVMParseBitcodeInContext2(g->ctx, mb, &ld)) {
        LLVMDisposeMemoryBuffer(mb);
        char *r = str_fmt("%s is not LLVM bitcode that LLVM 19 reads", path);
        free(path);
        return r;
    }
    LLVMDisposeMemoryBuffer(mb);
    /* libdevice names its own triple and an older layout; the linker would warn */
    LLVMSetTarget(ld, LLVMGetTarget(g->mod));
    LLVMSetDataLayout(ld, LLVMGetDataLayoutStr(g->mod));
    if (LLVMLinkModules2(g->mod, ld)) {
        char *r = str_fmt("cannot link libdevice %s into the module", path);
        free(path);
        return r;
    }
    free(path);
    for (LLVMValueRef fn = LLVMGetFirstFunction(g->mod); fn; fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn) && LLVMGetFunctionCallConv(fn) != NV_CALLCONV_PTX_KERNEL)
            LLVMSetLinkage(fn, LLVMInternalLinkage);
    for (LLVMValueRef gv = LLVMGetFirstGlobal(g->mod); gv; gv = LLVMGetNextGlobal(gv))
        if (!LLVMIsDeclaration(gv)) LLVMSetLinkage(gv, LLVMInternalLinkage);
    return NULL;
}

/* ---- CPU: the runtime kernels, linked in as bitcode ---- */

#if ONNXCC_RT_BITCODE
/* runtime/bitcode/bcembed.c generates these (rt_bitcode.c in the build tree): the runtime
 * compiled by clang-19 per feature level, one or more bitcode modules per level. */
int rt_bitcode_nvariants(void);
const char *rt_bitcode_name(int v);
const unsigned char *rt_bitcode_module(int v, int m, size_t *len);

/* A CPU feature the runtime's intrinsics may need, found out from the target machine
 * itself (its --cpu and --features together, or the host's for native): LLVM-C cannot list
 * a CPU's features, but a one-instruction function compiles to that instruction only when
 * the feature is there (else it is split or becomes a library call). */
typedef struct RtProbe {
    const char *feature;
    const char *ir;          /* defines @p */
    const char *needle[2];   /* either string in the assembly: present */
} RtProbe;

static const RtProbe rt_probes[] = {
    { "avx2", "define <8 x i32> @p(<8 x i32> %a, <8 x i32> %b) {\n"
              "  %c = add <8 x i32> %a, %b\n  ret <8 x i32> %c\n}\n",
      { "vpaddd\t%ymm", "vpaddd\t%zmm" } },
    { "fma", "declare float @llvm.fma.f32(float, float, float)\n"
             "define float @p(float %a, float %b, float %c) {\n"
             "  %r = call float @llvm.fma.f32(float %a, float %b, float %c)\n  ret float %r\n}\n",
      { "vfmadd", NULL } },
    { "f16c", "define <4 x float> @p(<4 x half> %a) {\n"
              "  %r = fpext <4 x half> %a to <4 x float>\n  ret <4 x float> %r\n}\n",
      { "vcvtph2ps", NULL } },
    { "avx512f", "define <16 x float> @p(<16 x float> %a, <16 x float> %b) {\n"
                 "  %c = fadd <16 x float> %a, %b\n  ret <16 x float> %c\n}\n",
      { "vaddps\t%zmm", NULL } },
    { "avx512bw", "define <64 x i8> @p(<64 x i8> %a, <64 x i8> %b) {\n"
                  "  %c = add <64 x i8> %a, %b\n  ret <64 x i8> %c\n}\n",
      { "vpaddb\t%zmm", NULL } },
    { "avx512dq", "define <8 x i64> @p(<8 x double> %a) {\n"
                  "  %c = fptosi <8 x double> %a to <8 x i64>\n  ret <8 x i64> %c\n}\n",
      { "vcvttpd2qq", NULL } },
    { "avx512vl", "declare <4 x i64> @llvm.abs.v4i64(<4 x i64>, i1)\n"
                  "define <4 x i64> @p(<4 x i64> %a) {\n"
                  "  %c = call <4 x i64> @llvm.abs.v4i64(<4 x i64> %a, i1 false)\n"
                  "  ret <4 x i64> %c\n}\n",
      { "vpabsq\t%ymm", NULL } },
    { "neon", "define <4 x float> @p(<4 x float> %a, <4 x float> %b) {\n"
              "  %c = fadd <4 x float> %a, %b\n  ret <4 x float> %c\n}\n",
      { ".4s", NULL } },
};
enum { RT_NPROBES = (int)(sizeof rt_probes / sizeof rt_probes[0]) };

/* The feature levels runtime/bitcode/meson.build builds, best first per architecture, and
 * the features each needs (its -march/-m flags that unlock intrinsics in the runtime). */
typedef struct RtLevel {
    const char *name;     /* the variant's name in runtime/bitcode/meson.build */
    const char *arch;     /* triple prefix */
    const char *needs[8];
} RtLevel;

static const RtLevel rt_levels[] = {
    { "x86_64-avx512", "x86_64",
      { "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl", NULL } },
    { "x86_64-v3", "x86_64", { "avx2", "fma", "f16c", NULL } },
    { "x86_64", "x86_64", { NULL } },
    { "aarch64", "aarch64", { "neon", NULL } },
    { "cortex-m", "thumb", { NULL } },   /* portable C; thumbv7em and thumbv8m.main */
};

static int mem_has(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, k)) return 1;
    return 0;
}

/* 1 if the target machine has the probe's feature, 0 if not, -1 if it cannot tell. */
static int tm_has(LLVMTargetMachineRef tm, const char *triple, const RtProbe *pr)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRangeCopy(pr->ir, strlen(pr->ir),
                                                                       "probe");
    LLVMModuleRef m = NULL;
    char *msg = NULL;
    int r = -1;
    if (LLVMParseIRInContext(ctx, mb, &m, &msg) == 0) {   /* takes mb */
        LLVMSetTarget(m, triple);
        LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
        LLVMSetModuleDataLayout(m, td);
        LLVMDisposeTargetData(td);
        LLVMMemoryBufferRef out = NULL;
        char *eerr = NULL;
        if (!LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &eerr, &out)) {
            const char *txt = LLVMGetBufferStart(out);
            size_t len = LLVMGetBufferSize(out);
            r = 0;
            for (int i = 0; i < 2 && pr->needle[i]; i++)
                if (mem_has(txt, len, pr->needle[i])) r = 1;
            LLVMDisposeMemoryBuffer(out);
        }
        LLVMDisposeMessage(eerr);
        LLVMDisposeModule(m);
    }
    LLVMDisposeMessage(msg);
    LLVMContextDispose(ctx);
    return r;
}

/* The best runtime level whose features the target machine has: its name, or NULL (and
 * *why) when none fits. */
static const char *rt_pick_level(LLVMTargetMachineRef tm, const char *triple, char **why)
{
    int known[RT_NPROBES];
    for (int i = 0; i < RT_NPROBES; i++) known[i] = -2;
    StrBuf missing;
    sb_init(&missing);
    for (size_t l = 0; l < sizeof rt_levels / sizeof rt_levels[0]; l++) {
        const RtLevel *lv = &rt_levels[l];
        if (strncmp(triple, lv->arch, strlen(lv->arch))) continue;
        int ok = 1;
        for (int k = 0; k < 8 && lv->needs[k] && ok; k++) {
            int pi = 0;
            while (pi < RT_NPROBES && strcmp(rt_probes[pi].feature, lv->needs[k])) pi++;
            if (pi == RT_NPROBES) ok = 0;   /* a level with an unknown need is never taken */
            else {
                if (known[pi] == -2) known[pi] = tm_has(tm, triple, &rt_probes[pi]);
                if (known[pi] != 1) {
                    ok = 0;
                    sb_printf(&missing, "%s%s (%s)", missing.len ? ", " : "", lv->name,
                              lv->needs[k]);
                }
            }
        }
        if (ok) {
            sb_free(&missing);
            return lv->name;
        }
    }
    *why = str_fmt("no runtime kernel level fits this CPU (%s lacks: %s)", triple,
                   missing.len ? missing.buf : "no level for this architecture");
    sb_free(&missing);
    return NULL;
}

#endif /* ONNXCC_RT_BITCODE */

/* Links the runtime kernels the module calls into it: the embedded bitcode of the best
 * level the target machine supports, with every runtime symbol made internal (the object
 * exports what it did without kernels) and the runtime's own "target-cpu" /
 * "target-features" dropped, so its functions compile for the model's CPU and features
 * and inline into the model's functions. Returns NULL, or a message. */
static char *link_runtime(LG *g, LLVMTargetMachineRef tm, const char *triple)
{
#if ONNXCC_RT_BITCODE
    char *why = NULL;
    const char *level = rt_pick_level(tm, triple, &why);
    if (!level) return why;
    int v = 0;
    while (v < rt_bitcode_nvariants() && strcmp(rt_bitcode_name(v), level)) v++;
    if (v == rt_bitcode_nvariants())
        return str_fmt("runtime kernel %s: this onnxcc was built without the runtime bitcode "
                       "for %s (level %s)", g->kern[0], triple, level);
    /* the level's modules, linked into one first: they may call each other */
    LLVMModuleRef rt = NULL;
    size_t len;
    const unsigned char *data;
    for (int m = 0; (data = rt_bitcode_module(v, m, &len)) != NULL; m++) {
        LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRange(
            (const char *)data, len, "onnxcc-runtime", 0);
        LLVMModuleRef mod = NULL;
        int bad = LLVMParseBitcodeInContext2(g->ctx, mb, &mod);
        LLVMDisposeMemoryBuffer(mb);
        if (bad) {
            if (rt) LLVMDisposeModule(rt);
            return str_fmt("internal error: the embedded runtime bitcode (%s, module %d) does "
                           "not load", level, m);
        }
        if (!rt) rt = mod;
        else if (LLVMLinkModules2(rt, mod)) {
            LLVMDisposeModule(rt);
            return str_fmt("internal error: the runtime bitcode modules (%s) do not link", level);
        }
    }
    if (!rt) return str_fmt("internal error: no runtime bitcode for level %s", level);
    LLVMSetTarget(rt, LLVMGetTarget(g->mod));
    LLVMSetDataLayout(rt, LLVMGetDataLayoutStr(g->mod));
    /* everything but the kernels the model calls is internal before linking (so nothing of
     * it can meet a model symbol); the kernels are made internal once linked */
    for (LLVMValueRef fn = LLVMGetFirstFunction(rt); fn; fn = LLVMGetNextFunction(fn)) {
        if (LLVMIsDeclaration(fn)) continue;
        LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, "target-cpu", 10);
        LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, "target-features", 15);
        LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, "tune-cpu", 8);
        size_t nl;
        const char *name = LLVMGetValueName2(fn, &nl);
        int called = 0;
        for (int k = 0; k < g->nkern && !called; k++)
            if (strlen(g->kern[k]) == nl && !memcmp(g->kern[k], name, nl)) called = 1;
        if (!called) LLVMSetLinkage(fn, LLVMInternalLinkage);
    }
    for (LLVMValueRef gv = LLVMGetFirstGlobal(rt); gv; gv = LLVMGetNextGlobal(gv))
        if (!LLVMIsDeclaration(gv)) LLVMSetLinkage(gv, LLVMInternalLinkage);
    if (LLVMLinkModules2(g->mod, rt))
        return str_fmt("internal error: the runtime bitcode (%s) does not link with the model",
                       level);
    for (int k = 0; k < g->nkern; k++) {
        LLVMValueRef fn = LLVMGetNamedFunction(g->mod, g->kern[k]);
        if (!fn || LLVMIsDeclaration(fn))
            return str_fmt("runtime kernel %s is not in the runtime bitcode of this onnxcc "
                           "(level %s)", g->kern[k], level);
        if (LLVMGlobalGetValueType(fn) != g->kern_ty[k])
            return str_fmt("runtime kernel %s: the call's arguments do not match the "
                           "runtime's prototype (onnxcc_rt.h)", g->kern[k]);
        LLVMSetLinkage(fn, LLVMInternalLinkage);
    }
    return NULL;
#else
    (void)tm;
    (void)triple;
    return str_fmt("runtime kernel %s: this onnxcc was built without the runtime bitcode "
                   "(clang-19), so target %s has no runtime kernels", g->kern[0], triple);
#endif
}

/* "sm_80", "sm_90a": what NVPTX calls a CPU. */
static int nv_cpu_ok(const char *cpu)
{
    if (strncmp(cpu, "sm_", 3) || cpu[3] < '1' || cpu[3] > '9') return 0;
    const char *c = cpu + 3;
    while (*c >= '0' && *c <= '9') c++;
    if (*c == 'a') c++;
    return *c == 0 && c - cpu <= 6;
}

/* Both back ends: the module from the program, verified, optimised, then emitted as an
 * object (CPU: NAME.o) or as PTX (nvptx: NAME.ptx + NAME_host.c). */
/* Objects with more weights than this leave them to patch_weights (ELF64 little-endian:
 * x86_64, aarch64): LLVM would otherwise hold three copies (the constant, the assembler's
 * fragments, the output buffer), 4 GB beside a 1 GB model's own. */
#define PATCH_BYTES ((int64_t)64 * 1024 * 1024)

static uint64_t rd_le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* Writes each weight over the zeros LLVM emitted for its global NAME_wK in the ELF64
 * relocatable object at path: file offset = its section's offset + the symbol's value. */
static int patch_weights(const char *path, const LG *g, char **err)
{
    const KProg *p = g->p;
    FILE *f = fopen(path, "r+b");
    unsigned char eh[64], *sh = NULL, *sym = NULL;
    char *str = NULL;
    int rc = -1, found = 0;
    if (!f || fread(eh, 1, 64, f) != 64 || memcmp(eh, "\177ELF", 4) || eh[4] != 2 || eh[5] != 1 ||
        rd_le(eh + 0x3a, 2) != 64) {
        *err = str_fmt("internal: %s is not an ELF64 little-endian object", path);
        goto out;
    }
    uint64_t shoff = rd_le(eh + 0x28, 8), shnum = rd_le(eh + 0x3c, 2);
    sh = malloc(shnum * 64 + 1);
    if (!sh || fseeko(f, (off_t)shoff, SEEK_SET) || fread(sh, 64, shnum, f) != shnum) goto bad;
    for (uint64_t i = 0; i < shnum && !sym; i++) {
        const unsigned char *s = sh + i * 64;
        if (rd_le(s + 4, 4) != 2 /* SHT_SYMTAB */) continue;
        uint64_t link = rd_le(s + 40, 4), size = rd_le(s + 32, 8);
        if (link >= shnum || rd_le(s + 56, 8) != 24) goto bad;
        const unsigned char *l = sh + link * 64;
        uint64_t ssize = rd_le(l + 32, 8);
        sym = malloc(size + 1);
        str = malloc(ssize + 1);
        if (!sym || !str || fseeko(f, (off_t)rd_le(s + 24, 8), SEEK_SET) ||
            fread(sym, 1, size, f) != size || fseeko(f, (off_t)rd_le(l + 24, 8), SEEK_SET) ||
            fread(str, 1, ssize, f) != ssize)
            goto bad;
        str[ssize] = 0;
        size_t plen = strlen(p->name);
        for (uint64_t k = 0; k + 24 <= size; k += 24) {
            const unsigned char *e = sym + k;
            uint64_t nm = rd_le(e, 4), shndx = rd_le(e + 6, 2), value = rd_le(e + 8, 8);
            const char *name = nm < ssize ? str + nm : "";
            char *end;
            if (strncmp(name, p->name, plen) || strncmp(name + plen, "_w", 2)) continue;
            long ti = strtol(name + plen + 2, &end, 10);
            if (*end || end == name + plen + 2 || ti < 0 || ti >= p->ntensors) continue;
            const KTensor *t = &p->tensors[ti];
            uint64_t bytes = t->n > 0 ? (uint64_t)t->n * (uint64_t)dt_size(t->t) : 0;
            if (t->kind != KT_CONST || !g->weights[ti] || !bytes) continue;
            const unsigned char *ts = shndx < shnum ? sh + shndx * 64 : NULL;
            if (!ts || rd_le(ts + 4, 4) != 1 /* SHT_PROGBITS */ ||
                value + bytes > rd_le(ts + 32, 8))
                goto bad;
            if (fseeko(f, (off_t)(rd_le(ts + 24, 8) + value), SEEK_SET) ||
                fwrite(t->data, 1, bytes, f) != bytes)
                goto bad;
            weights_release(t->data, (size_t)bytes);   /* a mapped one: its pages are written */
            found++;
        }
    }
    if (found == g->npatch) {
        rc = 0;
        goto out;
    }
bad:
    if (!*err) *err = str_fmt("internal: cannot write the weights into %s (%d of %d found)",
                              path, found, g->npatch);
out:
    if (f && fclose(f) != 0 && !rc) {
        rc = -1;
        *err = str_fmt("cannot write %s: %s", path, strerror(errno));
    }
    free(sh);
    free(sym);
    free(str);
    return rc;
}

typedef struct EmitJob {
    LLVMTargetMachineRef tm;
    const LG *g;
    char **err;
} EmitJob;

/* write_file_stream's fill: LLVM writes the object file itself (streamed), then the
 * weights go in */
static int emit_patched(FILE *f, const char *tmp, void *ctx)
{
    (void)f;
    EmitJob *j = ctx;
    char *eerr = NULL;
    if (LLVMTargetMachineEmitToFile(j->tm, j->g->mod, tmp, LLVMObjectFile, &eerr)) {
        *j->err = str_fmt("LLVM code generation failed: %s", eerr ? eerr : "");
        LLVMDisposeMessage(eerr);
        return -1;
    }
    return patch_weights(tmp, j->g, j->err);
}

static int llvm_write(const KProg *p, const char *outdir, const LlvmOptions *o, int nvptx,
                      char **err)
{
    *err = NULL;
    init_targets();
    LG g;
    memset(&g, 0, sizeof g);
    g.p = p;
    g.nvptx = nvptx;
    sb_init(&g.libdevice_uses);
    char *msg = check_prog(&g);
    if (msg) {
        *err = msg;
        return -1;
    }

    /* the target machine first: a bad --cpu/--features is the likeliest user error */
    const char *triple = o && o->triple ? o->triple
                         : nvptx ? "nvptx64-nvidia-cuda" : "x86_64-unknown-linux-gnu";
    const char *cpu = o && o->cpu ? o->cpu : nvptx ? "sm_80" : "generic";
    const char *features = o && o->features ? o->features : "";
    char *host_cpu = NULL, *host_feat = NULL;
    if (nvptx && !nv_cpu_ok(cpu)) {
        *err = str_fmt("target nvptx: --cpu %s is not a GPU architecture (sm_80, sm_90 ...)", cpu);
        return -1;
    }
    if (!nvptx && !strcmp(cpu, "native")) {
        host_cpu = LLVMGetHostCPUName();
        host_feat = LLVMGetHostCPUFeatures();
        cpu = host_cpu;
        if (!*features) features = host_feat;
    }
    LLVMTargetRef target;
    char *terr = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &terr)) {
        *err = str_fmt("LLVM has no target for triple %s: %s", triple, terr ? terr : "");
        LLVMDisposeMessage(terr);
        LLVMDisposeMessage(host_cpu);
        LLVMDisposeMessage(host_feat);
        return -1;
    }
    int lvl = o ? o->opt_level : 2;
    LLVMCodeGenOptLevel cgl = lvl >= 3 ? LLVMCodeGenLevelAggressive
                              : lvl == 0 ? LLVMCodeGenLevelNone : LLVMCodeGenLevelDefault;
    /* PIC so the object links into PIE executables; firmware (thumb*-none-eabi) is linked
     * at fixed addresses and has no GOT in its linker script */
    int bare = !strncmp(triple, "thumb", 5);
    /* x86-64's small code model reaches +-2 GiB: past 1 GiB of weights and arena the
     * medium model puts the big arrays in .lrodata/.lbss, addressed with 64-bit offsets,
     * and the object still links with small-model code (the caller's) */
    int64_t data_bytes = p->arena_bytes;
    for (int i = 0; i < p->ntensors; i++)
        if (p->tensors[i].kind == KT_CONST && p->tensors[i].n > 0)
            data_bytes += p->tensors[i].n * dt_size(p->tensors[i].t);
    LLVMCodeModel cm = !strncmp(triple, "x86_64", 6) && data_bytes > ((int64_t)1 << 30)
                           ? LLVMCodeModelMedium : LLVMCodeModelDefault;
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, cgl,
                                                      nvptx ? LLVMRelocDefault
                                                      : bare ? LLVMRelocStatic : LLVMRelocPIC,
                                                      cm);
    LLVMDisposeMessage(host_cpu);
    LLVMDisposeMessage(host_feat);
    if (!tm) {
        *err = str_fmt("cannot create an LLVM target machine for %s (cpu %s)", triple, cpu);
        return -1;
    }

    /* 32-bit pointers (Cortex-M): sizes and offsets are ptrdiff_t there, so an arena or
     * weights beyond 2 GiB cannot be addressed (the loop IR's i64 indices would wrap) */
    LLVMTargetDataRef tdc = LLVMCreateTargetDataLayout(tm);
    unsigned psize = LLVMPointerSize(tdc);
    LLVMDisposeTargetData(tdc);
    if (psize < 8) {
        int64_t wbytes = 0;
        for (int i = 0; i < p->ntensors && wbytes <= INT32_MAX; i++)
            if (p->tensors[i].kind == KT_CONST && p->tensors[i].n > 0)
                wbytes += p->tensors[i].n * dt_size(p->tensors[i].t);
        if (p->arena_bytes > INT32_MAX || wbytes > INT32_MAX) {
            *err = str_fmt("target %s has %u-bit pointers: the %s (%" PRId64 " bytes) exceeds "
                           "its 2 GiB", o && o->target ? o->target : triple, psize * 8,
                           p->arena_bytes > INT32_MAX ? "arena" : "weights",
                           p->arena_bytes > INT32_MAX ? p->arena_bytes : wbytes);
            LLVMDisposeTargetMachine(tm);
            return -1;
        }
    }

    int64_t total = 0;
    for (int i = 0; i < p->ntensors; i++)
        if (p->tensors[i].kind == KT_CONST && p->tensors[i].n > 0)
            total += p->tensors[i].n * dt_size(p->tensors[i].t);
    g.patch = !nvptx && total > PATCH_BYTES &&
              (!strncmp(triple, "x86_64", 6) || !strncmp(triple, "aarch64", 7)) &&
              (strstr(triple, "linux") || strstr(triple, "elf"));
    g.ctx = LLVMContextCreate();
    g.mod = LLVMModuleCreateWithNameInContext(p->name, g.ctx);
    LLVMSetTarget(g.mod, triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(g.mod, td);
    g.iptr = LLVMIntPtrTypeInContext(g.ctx, td);
    LLVMDisposeTargetData(td);
    g.b = LLVMCreateBuilderInContext(g.ctx);
    g.i1 = LLVMInt1TypeInContext(g.ctx);
    g.i8 = LLVMInt8TypeInContext(g.ctx);
    g.i16 = LLVMInt16TypeInContext(g.ctx);
    g.i32 = LLVMInt32TypeInContext(g.ctx);
    g.i64 = LLVMInt64TypeInContext(g.ctx);
    g.f32 = LLVMFloatTypeInContext(g.ctx);
    g.f64 = LLVMDoubleTypeInContext(g.ctx);
    g.ptr = LLVMPointerTypeInContext(g.ctx, 0);
    g.vd = LLVMVoidTypeInContext(g.ctx);

    int rc = -1;
    char *h = NULL, *ll = NULL, *host = NULL;
    LLVMMemoryBufferRef obj = NULL;
    NvPlan plan = { NULL, 0 };
    if (nvptx) {
        nvptx_plan(p, &plan);
        for (int i = 0; i < plan.n && !g.err; i++) gen_kernel(&g, &plan.k[i]);
        if (!g.err && g.libdevice_uses.len) {
            char *lerr = link_libdevice(&g);
            if (lerr) lg_fail(&g, lerr);
        }
        /* nvvm-reflect: IEEE denormals in libdevice, as on the CPU */
        LLVMAddModuleFlag(g.mod, LLVMModuleFlagBehaviorOverride, "nvvm-reflect-ftz", 16,
                          LLVMValueAsMetadata(LLVMConstInt(g.i32, 0, 0)));
    } else {
        build_module(&g);
        if (!g.err && g.nkern) {
            char *lerr = link_runtime(&g, tm, triple);
            if (lerr) lg_fail(&g, lerr);
        }
    }
    if (g.err) {
        *err = g.err;
        g.err = NULL;
        goto done;
    }
    char *verr = NULL;
    if (LLVMVerifyModule(g.mod, LLVMReturnStatusAction, &verr)) {
        *err = str_fmt("internal error: the LLVM module does not verify: %.400s", verr ? verr : "");
        LLVMDisposeMessage(verr);
        goto done;
    }
    LLVMDisposeMessage(verr);
    if (lvl > 0) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
        LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
        LLVMPassBuilderOptionsSetLoopUnrolling(po, 1);
        char passes[32];
        snprintf(passes, sizeof passes, "default<O%d>", lvl > 3 ? 3 : lvl);
        LLVMErrorRef perr = LLVMRunPasses(g.mod, passes, tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (perr) {
            char *m = LLVMGetErrorMessage(perr);
            *err = str_fmt("LLVM optimisation failed: %s", m);
            LLVMDisposeErrorMessage(m);
            goto done;
        }
    }
    /* printed before emission: code generation rewrites the module's IR in place */
    if (o && o->emit_llvm) ll = LLVMPrintModuleToString(g.mod);
    char *eerr = NULL;
    if (g.patch) {
        char *on = str_fmt("%s/%s.o", outdir, p->name);
        EmitJob j = { tm, &g, err };
        rc = write_file_stream(on, emit_patched, &j);
        if (rc && !*err) *err = str_fmt("cannot write %s: %s", on, strerror(errno));
        free(on);
        if (rc) goto done;
        rc = -1;
    } else if (LLVMTargetMachineEmitToMemoryBuffer(tm, g.mod,
                                                   nvptx ? LLVMAssemblyFile : LLVMObjectFile,
                                                   &eerr, &obj)) {
        *err = str_fmt("LLVM code generation failed: %s", eerr ? eerr : "");
        LLVMDisposeMessage(eerr);
        obj = NULL;
        goto done;
    }
    h = nvptx ? nvptx_header(p) : cgen_c_header(p);
    char *hn = str_fmt("%s.h", p->name);
    char *on = str_fmt("%s.%s", p->name, nvptx ? "ptx" : "o");
    rc = write_out(outdir, hn, h, strlen(h), err);
    if (!rc && obj)
        rc = write_out(outdir, on, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj), err);
    if (!rc && nvptx) {
        /* the PTX text is not NUL terminated in the buffer */
        size_t len = LLVMGetBufferSize(obj);
        char *ptx = malloc(len + 1);
        if (!ptx) {
            fputs("onnxcc: out of memory\n", stderr);
            exit(1);
        }
        memcpy(ptx, LLVMGetBufferStart(obj), len);
        ptx[len] = 0;
        host = nvptx_host_source(p, &plan, ptx);
        free(ptx);
        char *cn = str_fmt("%s_host.c", p->name);
        rc = write_out(outdir, cn, host, strlen(host), err);
        free(cn);
    }
    if (!rc && ll) {
        char *ln = str_fmt("%s.ll", p->name);
        rc = write_out(outdir, ln, ll, strlen(ll), err);
        free(ln);
    }
    free(hn);
    free(on);
done:
    free(h);
    free(host);
    nvptx_plan_free(&plan);
    sb_free(&g.libdevice_uses);
    free(g.kern);
    free(g.kern_ty);
    if (ll) LLVMDisposeMessage(ll);
    if (obj) LLVMDisposeMemoryBuffer(obj);
    free(g.weights);
    free(g.err);
    LLVMDisposeBuilder(g.b);
    LLVMDisposeModule(g.mod);
    LLVMContextDispose(g.ctx);
    LLVMDisposeTargetMachine(tm);
    return rc;
}

int cgen_llvm_write(const KProg *p, const char *outdir, const LlvmOptions *o, char **err)
{
    return llvm_write(p, outdir, o, 0, err);
}

int cgen_nvptx_write(const KProg *p, const char *outdir, const LlvmOptions *o, char **err)
{
    return llvm_write(p, outdir, o, 1, err);
}

#else /* !ONNXCC_HAVE_LLVM */

int cgen_llvm_available(void)
{
    return 0;
}

int cgen_llvm_write(const KProg *p, const char *outdir, const LlvmOptions *o, char **err)
{
    (void)p;
    (void)outdir;
    *err = str_fmt("target %s needs the LLVM back end; rebuild with -Dllvm=enabled",
                    o && o->target ? o->target : "(llvm)");
    return -1;
}

int cgen_nvptx_write(const KProg *p, const char *outdir, const LlvmOptions *o, char **err)
{
    return cgen_llvm_write(p, outdir, o, err);
}

#endif
