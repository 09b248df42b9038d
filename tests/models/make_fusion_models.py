#!/usr/bin/python3
"""Writes tests/models/fusion_cnn and tests/models/fusion_mlp: small models whose node
patterns the graph passes (compiler/passes) rewrite, with expected outputs computed here
in numpy (float64, then float32), independent of onnxcc.

fusion_cnn: Conv+BatchNormalization+Relu; Conv (no bias)+BatchNormalization+Add(residual
  from earlier)+Relu; Conv+Add(residual produced LATER in the node order)+LeakyRelu; a Conv
  whose output is used twice (Relu and Sigmoid: must not fuse); Conv+Clip(0, 6) with
  constant inputs; Conv+HardSwish; GlobalAveragePool, Flatten; Gemm+BatchNormalization+
  Tanh (BatchNorm1d after a Linear); a lone BatchNormalization on the graph input.
fusion_mlp: a transformer-like MLP on [1,5,8]: MatMul+Add(bias)+Gelu (PyTorch's Erf form:
  Div by sqrt 2, Mul x, Mul 0.5), MatMul+Add(bias)+Add(residual)+Gelu (Mul by 1/sqrt 2,
  x*0.5 first), MatMul+SiLU (x*Sigmoid(x)), MatMul whose output is also a graph output
  followed by Relu (must not fuse), MatMul+Add of a broadcast [5,1] (not a bias: must not
  fuse as one) + Sigmoid.

Run: /usr/bin/python3 tests/models/make_fusion_models.py"""
import math
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def conv(x, w, b=None, pad=0):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n, m, oh, ow))
    for i in range(kh):
        for j in range(kw):
            y += np.einsum('nchw,mc->nmhw', xp[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    if b is not None:
        y += b.reshape(1, m, 1, 1)
    return y


def bn(x, s, b, mean, var, eps=1e-5):
    sh = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * s.reshape(sh) + b.reshape(sh)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class G:
    def __init__(self):
        self.nodes, self.inits = [], []

    def w(self, name, a):
        self.inits.append(numpy_helper.from_array(f32(a), name))
        return name

    def n(self, op, ins, out, **attrs):
        self.nodes.append(helper.make_node(op, ins, [out], name=out + '_node', **attrs))
        return out

    def bnp(self, pre, c):
        return [self.w(pre + '_s', rng.uniform(0.5, 1.5, c)), self.w(pre + '_b', rng.normal(0, 0.3, c)),
                self.w(pre + '_m', rng.normal(0, 0.3, c)), self.w(pre + '_v', rng.uniform(0.5, 2.0, c))]


def save(name, g, inputs, outputs, feeds, expected):
    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 14)], producer_name='onnxcc-tests')
    model.ir_version = 7
    onnx.checker.check_model(model)
    d = os.path.join(HERE, name)
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    onnx.save(model, os.path.join(d, 'model.onnx'))
    for i, (k, v) in enumerate(feeds):
        onnx.save_tensor(numpy_helper.from_array(f32(v), k), os.path.join(d, 'test_data_set_0', 'input_%d.pb' % i))
    for i, (k, v) in enumerate(expected):
        onnx.save_tensor(numpy_helper.from_array(f32(v), k), os.path.join(d, 'test_data_set_0', 'output_%d.pb' % i))


def cnn():
    g = G()
    x = rng.normal(0, 1, (1, 3, 8, 8))
    p = {}
    # a lone BatchNormalization on the input stays as it is
    p['bn0'] = [rng.uniform(0.5, 1.5, 3), rng.normal(0, .3, 3), rng.normal(0, .3, 3), rng.uniform(.5, 2, 3)]
    g.n('BatchNormalization', ['x'] + [g.w('bn0_' + k, v) for k, v in zip('sbmv', p['bn0'])], 'x0')
    x0 = bn(x, *p['bn0'])
    W1, B1 = rng.normal(0, .3, (4, 3, 3, 3)), rng.normal(0, .1, 4)
    g.n('Conv', ['x0', g.w('W1', W1), g.w('B1', B1)], 'c1', pads=[1, 1, 1, 1])
    bp1 = g.bnp('bn1', 4)
    g.n('BatchNormalization', ['c1'] + bp1, 'n1', epsilon=1e-3)
    g.n('Relu', ['n1'], 'r1')
    v1 = [numpy_helper.to_array(t) for t in g.inits[-4:]]
    r1 = np.maximum(bn(conv(x0, W1, B1, 1), *[a.astype(np.float64) for a in v1], eps=1e-3), 0)
    W2 = rng.normal(0, .3, (4, 4, 3, 3))
    g.n('Conv', ['r1', g.w('W2', W2)], 'c2', pads=[1, 1, 1, 1])
    bp2 = g.bnp('bn2', 4)
    v2 = [numpy_helper.to_array(t).astype(np.float64) for t in g.inits[-4:]]
    g.n('BatchNormalization', ['c2'] + bp2, 'n2')
    g.n('Add', ['n2', 'r1'], 'a2')
    g.n('Relu', ['a2'], 'r2')
    r2 = np.maximum(bn(conv(r1, W2, None, 1), *v2) + r1, 0)
    # the residual z is computed by a node after c3
    W3, B3, W4 = rng.normal(0, .3, (4, 4, 3, 3)), rng.normal(0, .1, 4), rng.normal(0, .3, (4, 4, 1, 1))
    g.n('Conv', ['r2', g.w('W3', W3), g.w('B3', B3)], 'c3', pads=[1, 1, 1, 1])
    g.n('Conv', ['r2', g.w('W4', W4)], 'z')
    g.n('Add', ['z', 'c3'], 'a3')
    g.n('LeakyRelu', ['a3'], 'l3', alpha=0.2)
    a3 = conv(r2, W3, B3, 1) + conv(r2, W4)
    l3 = np.where(a3 >= 0, a3, 0.2 * a3)
    # c5 feeds Relu and Sigmoid: no fusion
    W5 = rng.normal(0, .3, (4, 4, 1, 1))
    g.n('Conv', ['l3', g.w('W5', W5)], 'c5')
    g.n('Relu', ['c5'], 'r5')
    g.n('Sigmoid', ['c5'], 's5')
    g.n('Mul', ['r5', 's5'], 'm5')
    c5 = conv(l3, W5)
    m5 = np.maximum(c5, 0) * sigmoid(c5)
    W6, B6 = rng.normal(0, .5, (4, 4, 3, 3)), rng.normal(0, .1, 4)
    g.n('Conv', ['m5', g.w('W6', W6), g.w('B6', B6)], 'c6', pads=[1, 1, 1, 1])
    g.n('Clip', ['c6', g.w('lo', np.float32(0)), g.w('hi', np.float32(0.5))], 'k6')
    k6 = np.clip(conv(m5, W6, B6, 1), 0, 0.5)
    W7 = rng.normal(0, .5, (8, 4, 3, 3))
    g.n('Conv', ['k6', g.w('W7', W7)], 'c7', strides=[2, 2])
    g.n('HardSwish', ['c7'], 'h7')
    c7 = conv(k6, W7)[:, :, ::2, ::2]
    h7 = c7 * np.clip(c7 / 6 + 0.5, 0, 1)
    g.n('GlobalAveragePool', ['h7'], 'gp')
    g.n('Flatten', ['gp'], 'fl')
    fl = h7.mean(axis=(2, 3))
    WG, BG = rng.normal(0, .5, (6, 8)), rng.normal(0, .1, 6)
    g.n('Gemm', ['fl', g.w('WG', WG), g.w('BG', BG)], 'gm', transB=1)
    bpg = g.bnp('bng', 6)
    vg = [numpy_helper.to_array(t).astype(np.float64) for t in g.inits[-4:]]
    g.n('BatchNormalization', ['gm'] + bpg, 'ng')
    g.n('Tanh', ['ng'], 'y')
    y = np.tanh(bn(fl @ WG.T + BG, *vg))
    save('fusion_cnn', g, [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 8, 8])],
         [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 6]),
          helper.make_tensor_value_info('r2', TensorProto.FLOAT, [1, 4, 8, 8])],
         [('x', x)], [('y', y), ('r2', r2)])


def mlp():
    g = G()
    x = rng.normal(0, 1, (1, 5, 8))
    W1, B1 = rng.normal(0, .4, (8, 16)), rng.normal(0, .1, 16)
    g.n('MatMul', ['x', g.w('W1', W1)], 'm1')
    g.n('Add', ['m1', g.w('B1', B1)], 'a1')
    g.n('Div', ['a1', g.w('sqrt2', np.float32(math.sqrt(2)))], 'd1')
    g.n('Erf', ['d1'], 'e1')
    g.n('Add', ['e1', g.w('one', np.float32(1))], 'p1')
    g.n('Mul', ['a1', 'p1'], 'q1')
    g.n('Mul', ['q1', g.w('half', np.float32(0.5))], 'h1')
    h1 = gelu(x @ W1 + B1)
    W2, B2 = rng.normal(0, .3, (16, 16)), rng.normal(0, .1, (1, 16))
    g.n('MatMul', ['h1', g.w('W2', W2)], 'm2')
    g.n('Add', [g.w('B2', B2), 'm2'], 'a2')
    g.n('Add', ['h1', 'a2'], 'r2')
    g.n('Mul', [g.w('rsqrt2', np.float32(1 / math.sqrt(2))), 'r2'], 'd2')
    g.n('Erf', ['d2'], 'e2')
    g.n('Add', [g.w('one2', np.float32(1)), 'e2'], 'p2')
    g.n('Mul', [g.w('half2', np.float32(0.5)), 'r2'], 'q2')
    g.n('Mul', ['p2', 'q2'], 'h2')
    h2 = gelu(h1 @ W2 + B2 + h1)
    W3 = rng.normal(0, .3, (16, 8))
    g.n('MatMul', ['h2', g.w('W3', W3)], 'm3')
    g.n('Sigmoid', ['m3'], 's3')
    g.n('Mul', ['s3', 'm3'], 'h3')
    m3 = h2 @ W3
    h3 = m3 * sigmoid(m3)
    W4 = rng.normal(0, .3, (8, 8))
    g.n('MatMul', ['h3', g.w('W4', W4)], 'm4')
    g.n('Relu', ['m4'], 'r4')
    m4 = h3 @ W4
    W5, B5 = rng.normal(0, .3, (8, 4)), rng.normal(0, .1, (5, 1))
    g.n('MatMul', ['r4', g.w('W5', W5)], 'm5')
    g.n('Add', ['m5', g.w('B5', B5)], 'a5')
    g.n('Sigmoid', ['a5'], 'y')
    y = sigmoid(np.maximum(m4, 0) @ W5 + B5)
    save('fusion_mlp', g, [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 5, 8])],
         [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 5, 4]),
          helper.make_tensor_value_info('m4', TensorProto.FLOAT, [1, 5, 8])],
         [('x', x)], [('y', y), ('m4', m4)])


cnn()
mlp()
