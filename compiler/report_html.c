/* report_html.c — owns `onnxcc report --html FILE`: one self-contained page (inline CSS,
 * JS and SVG, and a Content-Security-Policy that forbids every fetch) showing the nodes in
 * run order with what each lowered node absorbed, the memory plan as an offset-by-time
 * chart against its lower bound, the weights per layer, and which nodes each target of
 * targets/targets.c would refuse. The driver builds the program; this file only reads it,
 * and asks the driver what the other targets refuse (the same checks compile runs), so no
 * list of unsupported operators is kept here. Every name from the model is user data and
 * goes through rhtml_escape. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

void rhtml_escape(StrBuf *sb, const char *s)
{
    char run[256];
    size_t n = 0;
    for (const unsigned char *q = (const unsigned char *)(s ? s : ""); ; q++) {
        const char *rep = NULL;
        switch (*q) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            /* control characters would end nothing in HTML, but they make the page
             * unreadable and NUL cannot appear at all */
            if (*q && (*q < 0x20 || *q == 0x7f)) rep = " ";
        }
        if (rep || !*q || n + 1 >= sizeof run) {
            run[n] = 0;
            sb_puts(sb, run);
            n = 0;
        }
        if (!*q) break;
        if (rep) sb_puts(sb, rep);
        else run[n++] = (char)*q;
    }
}

/* What the page knows about one node of g. */
typedef struct NodeInfo {
    int step;             /* function index, or -1: folded at compile time */
    int64_t macs;
    int approx;
    int64_t out_bytes;
    int64_t weight_bytes; /* constant tensors the node's function reads (packed, folded) */
    int nweights;
    const Node **orig;    /* nodes of the model as loaded that ended up in this one */
    int norig;
    size_t caporig;
    unsigned refused;     /* bit i: target_at(i) refuses this node */
} NodeInfo;

typedef struct Page {
    const DriverOpts *o;
    const Graph *g0, *g;
    const KProg *prog;
    Pool *p;
    NodeInfo *ni;
    int ntargets;
    const Target **targets;
    char **refusal;       /* per target: the message, or NULL when it takes the model */
    StrBuf sb;
} Page;

static void esc(Page *pg, const char *s) { rhtml_escape(&pg->sb, s); }

static int64_t tensor_bytes(const KTensor *t) { return t->n * dt_size(t->t); }

/* The tensors the chart draws: those plan.c gives an arena offset that live somewhere
 * and hold at least one byte. */
static int charted(const KProg *p, const KTensor *t)
{
    int planned = t->kind == KT_ARENA ||
                  (p->io_in_arena && (t->kind == KT_INPUT || t->kind == KT_OUTPUT));
    return planned && t->first >= 0 && t->last >= t->first && tensor_bytes(t) > 0;
}

/* Lookup tables for owner_of, so a large model costs linear time: which node of g
 * produces each value of g, and which nodes of the loaded model read each of its values. */
typedef struct Owners {
    const Graph *g0, *g;
    int *prod;            /* value id of g -> node index in g, or -1 */
    int *cons_at, *cons;  /* value id of g0 -> its readers' node indices in g0 */
    int *memo;            /* node index in g0 -> owner; -2: not known yet */
} Owners;

static int value_id(const Graph *g, const Value *v)
{
    return v && v->id >= 0 && v->id < g->nvalues && g->values[v->id] == v ? v->id : -1;
}

static void owners_init(Owners *ow, Pool *p, const Graph *g0, const Graph *g)
{
    ow->g0 = g0;
    ow->g = g;
    ow->prod = pool_alloc(p, sizeof *ow->prod * (size_t)(g->nvalues + 1));
    for (int i = 0; i < g->nvalues; i++) ow->prod[i] = -1;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nout; k++) {
            int id = value_id(g, g->nodes[i]->out[k]);
            if (id >= 0) ow->prod[id] = i;
        }
    ow->cons_at = pool_alloc(p, sizeof *ow->cons_at * (size_t)(g0->nvalues + 2));
    int nedges = 0;
    for (int i = 0; i < g0->nnodes; i++)
        for (int j = 0; j < g0->nodes[i]->nin; j++) {
            int id = value_id(g0, g0->nodes[i]->in[j]);
            if (id >= 0) ow->cons_at[id + 1]++, nedges++;
        }
    for (int v = 0; v < g0->nvalues; v++) ow->cons_at[v + 1] += ow->cons_at[v];
    int *fill = pool_alloc(p, sizeof *fill * (size_t)(g0->nvalues + 1));
    ow->cons = pool_alloc(p, sizeof *ow->cons * (size_t)(nedges + 1));
    for (int i = 0; i < g0->nnodes; i++)
        for (int j = 0; j < g0->nodes[i]->nin; j++) {
            int id = value_id(g0, g0->nodes[i]->in[j]);
            if (id >= 0) ow->cons[ow->cons_at[id] + fill[id]++] = i;
        }
    ow->memo = pool_alloc(p, sizeof *ow->memo * (size_t)(g0->nnodes + 1));
    for (int i = 0; i < g0->nnodes; i++) ow->memo[i] = -2;
}

/* The node of g that node xi of the loaded model ended up in. The passes keep value
 * names: a fused node keeps the output of the last node it absorbed (a fused elementwise
 * chain too). So xi's owner produces one of xi's outputs, or else is the owner of the
 * first node downstream of xi that has one. -1: none (xi was removed). */
static int owner_of(Owners *ow, int xi, int depth)
{
    if (ow->memo[xi] != -2) return ow->memo[xi];
    const Node *x = ow->g0->nodes[xi];
    int r = -1;
    for (int k = 0; k < x->nout && r < 0; k++) {
        if (!x->out[k]) continue;
        int id = value_id(ow->g, ir_find((Graph *)ow->g, x->out[k]->name));
        if (id >= 0) r = ow->prod[id];
    }
    if (r < 0 && depth > 64) return -1;   /* not remembered: another path may be shorter */
    for (int k = 0; k < x->nout && r < 0; k++) {
        int id = value_id(ow->g0, x->out[k]);
        for (int c = id < 0 ? 0 : ow->cons_at[id]; id >= 0 && c < ow->cons_at[id + 1] && r < 0; c++)
            r = owner_of(ow, ow->cons[c], depth + 1);
    }
    ow->memo[xi] = r;
    return r;
}

static void collect(Page *pg)
{
    const Graph *g = pg->g;
    const KProg *prog = pg->prog;
    pg->ni = pool_alloc(pg->p, sizeof *pg->ni * (size_t)(g->nnodes + 1));
    int fi = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        NodeInfo *ni = &pg->ni[i];
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] && type_numel(&n->out[k]->type) > 0)
                ni->out_bytes += type_numel(&n->out[k]->type) * dt_size(n->out[k]->type.dt);
        ni->step = -1;
        /* lower_graph gives every node it does not fold one function, in node order */
        if (lower_node_folded(n) || fi >= prog->nfuncs) continue;
        ni->step = fi;
        const KFunc *f = prog->funcs[fi++];
        ni->macs = driver_func_macs(f, &ni->approx);
        for (int b = 0; b < f->nbufs; b++) {
            int t = f->bufs[b].tensor, seen = 0;
            if (t < 0 || prog->tensors[t].kind != KT_CONST) continue;
            for (int c = 0; c < b; c++) seen |= f->bufs[c].tensor == t;
            if (seen) continue;
            ni->weight_bytes += tensor_bytes(&prog->tensors[t]);
            ni->nweights++;
        }
    }
    Owners ow;
    owners_init(&ow, pg->p, pg->g0, g);
    for (int i = 0; i < pg->g0->nnodes; i++) {
        int o = owner_of(&ow, i, 0);
        if (o >= 0)
            VEC_PUSH(pg->p, pg->ni[o].orig, pg->ni[o].norig, pg->ni[o].caporig, pg->g0->nodes[i]);
    }
}

/* Runs every other target's checks and marks the nodes each message names: messages
 * name a node as "node 'NAME' (OP...)" (node_err, the lowering's and back ends' function
 * comments). */
static void refusals(Page *pg)
{
    while (target_at(pg->ntargets)) pg->ntargets++;
    pg->targets = pool_alloc(pg->p, sizeof *pg->targets * (size_t)(pg->ntargets + 1));
    pg->refusal = pool_alloc(pg->p, sizeof *pg->refusal * (size_t)(pg->ntargets + 1));
    const char *own = pg->o->target ? pg->o->target : "c";
    for (int ti = 0; ti < pg->ntargets; ti++) {
        const Target *t = target_at(ti);
        pg->targets[ti] = t;
        /* the report's own target got this far, so it takes the model */
        if (!strcmp(t->name, own)) continue;
        Pool *tp = pool_new();
        char *m = driver_refusals(pg->o, tp, t);
        pg->refusal[ti] = m ? pool_strdup(pg->p, m) : NULL;
        pool_free(tp);
        if (!pg->refusal[ti]) continue;
        for (int i = 0; i < pg->g->nnodes; i++) {
            NodeInfo *ni = &pg->ni[i];
            int hit = 0;
            for (int k = -1; k < ni->norig && !hit; k++) {
                const Node *n = k < 0 ? pg->g->nodes[i] : ni->orig[k];
                char *pat = pool_fmt(pg->p, "node '%s' (", n->name);
                hit = strstr(pg->refusal[ti], pat) != NULL;
            }
            if (hit && ti < 32) ni->refused |= 1u << ti;
        }
    }
}

static char *human_bytes(Pool *p, int64_t v)
{
    if (v >= 10 * 1024 * 1024) return pool_fmt(p, "%.1f MiB", (double)v / (1024.0 * 1024.0));
    if (v >= 10 * 1024) return pool_fmt(p, "%.1f KiB", (double)v / 1024.0);
    return pool_fmt(p, "%lld B", (long long)v);
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}\n"
    "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em;"
    "border-bottom:1px solid #ccc}\n"
    "table{border-collapse:collapse;font-size:12.5px}td,th{border:1px solid #ddd;"
    "padding:2px 6px;vertical-align:top;text-align:left}th{background:#f2f2f2}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "tr.folded{color:#999}tr.refused td{background:#fde8e8}tr.hl td{background:#e6f0ff}\n"
    ".ok{color:#17692b;font-weight:600;white-space:nowrap}"
    ".bad{color:#b3261e;font-weight:600;white-space:nowrap}\n"
    ".tag{display:inline-block;border-radius:3px;padding:0 4px;margin:1px;font-size:11px;"
    "background:#b3261e;color:#fff}\n"
    ".abs{font-size:11.5px;color:#444}.ty{font-family:monospace;font-size:11.5px}\n"
    "svg text{font:11px system-ui,sans-serif;fill:#333}\n"
    "rect.t{stroke:#fff;stroke-width:.5}rect.t:hover,rect.t.on{stroke:#000;stroke-width:1.5}\n"
    "rect.t.off{opacity:.25}\n"
    ".bar{background:#4a7fb5;height:10px;display:inline-block}\n"
    "#selfcheck{color:#777;font-size:11px}\n";

/* First in the page: whatever fails later (a script error, a blocked fetch, a console
 * error) is counted, and the last script writes the count into #selfcheck. */
static const char js_head[] =
    "var rhErrors=[];\n"
    "window.addEventListener('error',function(e){rhErrors.push(String(e.message||"
    "(e.target&&e.target.tagName)||e.type));},true);\n"
    "document.addEventListener('securitypolicyviolation',function(e){"
    "rhErrors.push('blocked: '+e.blockedURI);});\n"
    "(function(){var ce=console.error;console.error=function(){"
    "rhErrors.push(Array.prototype.join.call(arguments,' '));"
    "return ce.apply(console,arguments);};})();\n";

/* Hovering a node row shows the tensors live at its step; the self-check reports the
 * rectangles drawn and the errors seen. */
static const char js_tail[] =
    "(function(){\n"
    "var rects=document.querySelectorAll('#plan rect.t');\n"
    "var cur=document.getElementById('cursor');\n"
    "function show(s){for(var i=0;i<rects.length;i++){var r=rects[i];"
    "var live=s>=0&&+r.getAttribute('data-first')<=s&&s<=+r.getAttribute('data-last');"
    "r.setAttribute('class',s<0?'t':live?'t on':'t off');}\n"
    "if(cur){if(s<0)cur.setAttribute('visibility','hidden');else{"
    "var x=+cur.getAttribute('data-x0')+(s+.5)*+cur.getAttribute('data-dx');"
    "cur.setAttribute('x1',x);cur.setAttribute('x2',x);"
    "cur.setAttribute('visibility','visible');}}}\n"
    "var rows=document.querySelectorAll('#nodes tr[data-step]');\n"
    "for(var i=0;i<rows.length;i++){(function(row){var s=+row.getAttribute('data-step');"
    "row.addEventListener('mouseenter',function(){row.className+=' hl';show(s);});"
    "row.addEventListener('mouseleave',function(){row.className="
    "row.className.replace(/ hl/g,'');show(-1);});})(rows[i]);}\n"
    "function report(){var sc=document.getElementById('selfcheck');"
    "sc.setAttribute('data-rects',String(rects.length));"
    "sc.setAttribute('data-errors',String(rhErrors.length));"
    "sc.textContent='page check: '+rects.length+' tensors drawn, '+rhErrors.length+"
    "' errors'+(rhErrors.length?': '+rhErrors.join(' | '):'');}\n"
    "report();window.addEventListener('load',report);\n"
    "})();\n";

static void summary(Page *pg)
{
    const KProg *prog = pg->prog;
    StrBuf *sb = &pg->sb;
    int64_t macs = 0, wbytes = 0;
    int approx = 0, nfused = 0;
    for (int i = 0; i < pg->g->nnodes; i++) {
        macs += pg->ni[i].macs;
        approx |= pg->ni[i].approx;
        nfused += pg->ni[i].norig > 1;
    }
    for (int i = 0; i < prog->ntensors; i++)
        if (prog->tensors[i].kind == KT_CONST) wbytes += tensor_bytes(&prog->tensors[i]);
    sb_puts(sb, "<h1>onnxcc report: ");
    esc(pg, pg->o->model);
    sb_puts(sb, "</h1>\n<p>target <b>");
    esc(pg, pg->o->target ? pg->o->target : "c");
    sb_printf(sb, "</b> &middot; %d nodes of the model, %d after the passes (%d of them "
              "absorbed others) &middot; %d functions &middot; %s%lld MACs &middot; weights %s "
              "&middot; arena planned %s, lower bound %s</p>\n",
              pg->g0->nnodes, pg->g->nnodes, nfused, prog->nfuncs, approx ? "~" : "",
              (long long)macs, human_bytes(pg->p, wbytes), human_bytes(pg->p, prog->arena_bytes),
              human_bytes(pg->p, prog->arena_lower_bound));
}

static void targets_section(Page *pg)
{
    StrBuf *sb = &pg->sb;
    sb_puts(sb, "<h2>Targets</h2>\n<p>What compiling this model for each target would "
            "refuse (the same checks as <code>onnxcc compile</code>: shape inference, "
            "lowering, the back end's own checks; the first failure of a stage ends it).</p>\n"
            "<table id=\"targets\"><tr><th>target</th><th>verdict</th><th>nodes</th>"
            "<th>why</th></tr>\n");
    for (int ti = 0; ti < pg->ntargets; ti++) {
        const char *m = pg->refusal[ti];
        sb_printf(sb, "<tr data-target=\"%s\"><td>", pg->targets[ti]->name);
        esc(pg, pg->targets[ti]->name);
        sb_printf(sb, "</td><td class=\"%s\">%s</td><td>", m ? "bad" : "ok",
                  m ? "refuses" : "accepts every node");
        for (int i = 0; m && i < pg->g->nnodes; i++) {
            if (!(pg->ni[i].refused >> ti & 1)) continue;
            sb_puts(sb, "<span class=\"tag\">");
            esc(pg, pg->g->nodes[i]->name);
            sb_puts(sb, "</span>");
        }
        sb_puts(sb, "</td><td>");
        if (m) {
            /* the back ends join their findings with "; " */
            sb_puts(sb, "<ul>");
            const char *s = m;
            while (*s) {
                const char *e = strstr(s, "; ");
                size_t len = e ? (size_t)(e - s) : strlen(s);
                sb_puts(sb, "<li>");
                esc(pg, pool_fmt(pg->p, "%.*s", (int)len, s));
                sb_puts(sb, "</li>");
                s += len + (e ? 2 : 0);
            }
            sb_puts(sb, "</ul>");
        }
        sb_puts(sb, "</td></tr>\n");
    }
    sb_puts(sb, "</table>\n");
}

/* The offset-by-time chart: x is the schedule step (function in run order), y the arena
 * offset growing upwards, one rectangle per charted tensor. */
static int plan_section(Page *pg)
{
    const KProg *prog = pg->prog;
    StrBuf *sb = &pg->sb;
    const double L = 90, T = 16, W = 1000, H = 380;
    int steps = prog->nfuncs > 0 ? prog->nfuncs : 1;
    int64_t top = prog->arena_bytes > prog->arena_lower_bound ? prog->arena_bytes
                                                               : prog->arena_lower_bound;
    if (top <= 0) top = 1;
    double dx = W / steps, sy = H / (double)top;
    int ndrawn = 0, nplanned = 0;
    for (int i = 0; i < prog->ntensors; i++) {
        const KTensor *t = &prog->tensors[i];
        nplanned += t->kind == KT_ARENA;
        ndrawn += charted(prog, t);
    }
    sb_printf(sb, "<h2>Memory plan</h2>\n<p>%d tensors drawn (each an arena slot from its "
              "first to its last step; hover for its name), %d arena tensors in all (the "
              "others hold no bytes or are live nowhere). Dashed: the lower bound, the most "
              "bytes live at one step. Hover a node below to see what is live while it "
              "runs.</p>\n", ndrawn, nplanned);
    sb_printf(sb, "<svg id=\"plan\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
              "role=\"img\" aria-label=\"memory plan\">\n", L + W + 150, T + H + 46,
              L + W + 150, T + H + 46);
    sb_printf(sb, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" "
              "stroke=\"#bbb\"/>\n", L, T, W, H);
    /* y ticks: quarters of the arena */
    for (int q = 0; q <= 4; q++) {
        int64_t b = top * q / 4;
        double y = T + H - (double)b * sy;
        sb_printf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", L, y, L + W, y,
                  L - 6, y + 4, human_bytes(pg->p, b));
    }
    /* x ticks: about ten */
    int every = steps / 10 > 0 ? steps / 10 : 1;
    for (int s = 0; s < steps; s += every)
        sb_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n",
                  L + (s + 0.5) * dx, T + H + 16, s);
    sb_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">schedule step (function "
              "in run order)</text>\n", L + W / 2, T + H + 36);
    sb_printf(sb, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\">"
              "arena offset</text>\n", T + H / 2);
    int k = 0;
    for (int i = 0; i < prog->ntensors; i++) {
        const KTensor *t = &prog->tensors[i];
        if (!charted(prog, t)) continue;
        int64_t bytes = tensor_bytes(t);
        double h = (double)bytes * sy;
        if (h < 1) h = 1;   /* a small tensor in a big arena still shows */
        double y = T + H - (double)(t->offset + bytes) * sy;
        if (y + h > T + H) y = T + H - h;
        /* golden-angle hues: neighbours differ */
        int hue = (int)((k++ * 137.508) + 200) % 360;
        sb_printf(sb, "<rect class=\"t\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                  "fill=\"hsl(%d,55%%,62%%)\" data-first=\"%d\" data-last=\"%d\"><title>",
                  L + t->first * dx, y, (t->last - t->first + 1) * dx, h, hue, t->first,
                  t->last);
        esc(pg, t->src_name ? t->src_name : t->name);
        if (t->src_name && strcmp(t->src_name, t->name)) {
            sb_puts(sb, " (");
            esc(pg, t->name);
            sb_puts(sb, ")");
        }
        sb_printf(sb, ": %s[", dt_name(t->t));
        for (int d = 0; d < t->rank; d++) sb_printf(sb, "%s%lld", d ? "x" : "", (long long)t->dims[d]);
        sb_printf(sb, "], %lld bytes at offset %lld, steps %d-%d</title></rect>\n",
                  (long long)bytes, (long long)t->offset, t->first, t->last);
    }
    double ylb = T + H - (double)prog->arena_lower_bound * sy;
    double ypl = T + H - (double)prog->arena_bytes * sy;
    sb_printf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#b3261e\" "
              "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"><title>lower bound: %lld bytes"
              "</title></line>\n<text x=\"%.1f\" y=\"%.1f\" style=\"fill:#b3261e\">lower bound "
              "%s</text>\n", L, ylb, L + W, ylb, (long long)prog->arena_lower_bound, L + W + 6,
              ylb + (ypl - ylb > -12 && ypl - ylb < 12 ? 12 : 4),
              human_bytes(pg->p, prog->arena_lower_bound));
    sb_printf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\">"
              "<title>planned arena: %lld bytes</title></line>\n<text x=\"%.1f\" y=\"%.1f\">"
              "planned %s</text>\n", L, ypl, L + W, ypl, (long long)prog->arena_bytes,
              L + W + 6, ypl - 2, human_bytes(pg->p, prog->arena_bytes));
    sb_printf(sb, "<line id=\"cursor\" x1=\"0\" y1=\"%.1f\" x2=\"0\" y2=\"%.1f\" stroke=\"#1a5fb4\" "
              "stroke-width=\"2\" visibility=\"hidden\" data-x0=\"%.2f\" data-dx=\"%.4f\"/>\n",
              T, T + H, L, dx);
    sb_puts(sb, "</svg>\n");
    return ndrawn;
}

static void weights_section(Page *pg)
{
    StrBuf *sb = &pg->sb;
    int64_t max = 0, total = 0;
    for (int i = 0; i < pg->g->nnodes; i++) {
        if (pg->ni[i].weight_bytes > max) max = pg->ni[i].weight_bytes;
        total += pg->ni[i].weight_bytes;
    }
    sb_printf(sb, "<h2>Weights per layer</h2>\n<p>Bytes of the constant tensors each node's "
              "function reads, as the program holds them (packed for the kernels, "
              "BatchNormalization folded); %s in all (a tensor two nodes share counts for "
              "both).</p>\n", human_bytes(pg->p, total));
    if (!max) {
        sb_puts(sb, "<p>No node reads weights.</p>\n");
        return;
    }
    sb_puts(sb, "<table id=\"weights\"><tr><th>node</th><th>op</th><th>tensors</th>"
            "<th>bytes</th><th></th></tr>\n");
    for (int i = 0; i < pg->g->nnodes; i++) {
        const NodeInfo *ni = &pg->ni[i];
        if (!ni->weight_bytes) continue;
        sb_puts(sb, "<tr><td>");
        esc(pg, pg->g->nodes[i]->name);
        sb_puts(sb, "</td><td>");
        esc(pg, pg->g->nodes[i]->op_type);
        sb_printf(sb, "</td><td class=\"n\">%d</td><td class=\"n\">%lld</td><td><span "
                  "class=\"bar\" style=\"width:%.0fpx\"></span></td></tr>\n", ni->nweights,
                  (long long)ni->weight_bytes, 1.0 + 300.0 * (double)ni->weight_bytes / (double)max);
    }
    sb_puts(sb, "</table>\n");
}

static void values_cell(Page *pg, Value *const *vs, int n)
{
    StrBuf *sb = &pg->sb;
    for (int k = 0; k < n; k++) {
        const Value *v = vs[k];
        if (!v) continue;
        sb_puts(sb, "<div>");
        esc(pg, v->name);
        sb_puts(sb, " <span class=\"ty\">");
        if (v->has_type) esc(pg, type_str(pg->p, &v->type));
        else sb_puts(sb, "?");
        if (v->kind == V_WEIGHT) sb_puts(sb, " const");
        sb_puts(sb, "</span></div>");
    }
}

static void nodes_section(Page *pg)
{
    StrBuf *sb = &pg->sb;
    sb_puts(sb, "<h2>Nodes in execution order</h2>\n<p>After shape inference and the "
            "passes. <i>absorbed</i>: the model's nodes that became part of this one (the "
            "passes keep the value names: a fused node produces the output of the last "
            "node it took in). Red rows: a target refuses the node.</p>\n"
            "<table id=\"nodes\"><tr><th>#</th><th>step</th><th>node</th><th>op</th>"
            "<th>inputs</th><th>outputs</th><th>MACs</th><th>out bytes</th>"
            "<th>weight bytes</th><th>absorbed</th><th>refused by</th></tr>\n");
    for (int i = 0; i < pg->g->nnodes; i++) {
        const Node *n = pg->g->nodes[i];
        const NodeInfo *ni = &pg->ni[i];
        const char *cls = ni->step < 0 ? "folded" : ni->refused ? "refused" : "";
        sb_printf(sb, "<tr class=\"%s\"", cls);
        if (ni->step >= 0) sb_printf(sb, " data-step=\"%d\"", ni->step);
        sb_printf(sb, "><td class=\"n\">%d</td><td class=\"n\">", i);
        if (ni->step >= 0) sb_printf(sb, "%d", ni->step);
        else sb_puts(sb, "folded");
        sb_puts(sb, "</td><td>");
        esc(pg, n->name);
        sb_puts(sb, "</td><td>");
        esc(pg, n->op_type);
        sb_puts(sb, "</td><td>");
        values_cell(pg, n->in, n->nin);
        sb_puts(sb, "</td><td>");
        values_cell(pg, n->out, n->nout);
        sb_printf(sb, "</td><td class=\"n\">%s%lld</td><td class=\"n\">%lld</td>"
                  "<td class=\"n\">%lld</td><td class=\"abs\">", ni->approx ? "~" : "",
                  (long long)ni->macs, (long long)ni->out_bytes, (long long)ni->weight_bytes);
        int self_only = ni->norig == 1 && !strcmp(ni->orig[0]->name, n->name);
        for (int k = 0; k < ni->norig && !self_only; k++) {
            sb_puts(sb, "<div>");
            esc(pg, ni->orig[k]->name);
            sb_puts(sb, " (");
            esc(pg, ni->orig[k]->op_type);
            sb_puts(sb, ")</div>");
        }
        sb_puts(sb, "</td><td>");
        for (int ti = 0; ti < pg->ntargets && ti < 32; ti++) {
            if (!(ni->refused >> ti & 1)) continue;
            sb_puts(sb, "<span class=\"tag\">");
            esc(pg, pg->targets[ti]->name);
            sb_puts(sb, "</span>");
        }
        sb_puts(sb, "</td></tr>\n");
    }
    sb_puts(sb, "</table>\n");
}

int rhtml_write(const DriverOpts *o, const Graph *g0, const Graph *g, const KProg *prog,
                Pool *p, char **msg)
{
    if (!o->html || !*o->html) {
        *msg = pool_strdup(p, "--html needs a file name");
        return -1;
    }
    Page pg;
    memset(&pg, 0, sizeof pg);
    pg.o = o;
    pg.g0 = g0;
    pg.g = g;
    pg.prog = prog;
    pg.p = p;
    collect(&pg);
    refusals(&pg);
    StrBuf *sb = &pg.sb;
    sb_init(sb);
    /* default-src 'none': the page can fetch nothing, so it opens the same offline */
    sb_puts(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>onnxcc report: ");
    esc(&pg, o->model);
    sb_printf(sb, "</title>\n<script>\n%s</script>\n<style>\n%s</style>\n</head>\n<body>\n",
              js_head, css);
    summary(&pg);
    targets_section(&pg);
    int ndrawn = plan_section(&pg);
    weights_section(&pg);
    nodes_section(&pg);
    sb_printf(sb, "<p id=\"selfcheck\">page check: scripts did not run</p>\n<script>\n%s"
              "</script>\n</body>\n</html>\n", js_tail);

    out_stage_begin();
    int rc = write_file_atomic(o->html, sb->buf, sb->len), e = errno;
    if (rc != 0) out_stage_abort();
    else if ((rc = out_stage_commit()) != 0) e = errno;
    sb_free(sb);
    if (rc != 0) {
        *msg = pool_fmt(p, "%s: cannot write the HTML report: %s", o->html, strerror(e));
        return -1;
    }
    fprintf(o->out, "html: %s (%d nodes, %d planned tensors in the memory chart)\n", o->html,
            g->nnodes, ndrawn);
    return ndrawn;
}
