#!/usr/bin/python3
"""bump_bias.py — writes a changed copy of an ONNX model: adds DELTA to element K of the
initializer named NAME (float32, raw_data), same size, same interface. The integration test
uses it to change the digits model (every digit then predicted as K) and see that the
user's build regenerated the code. Plain python3, no onnx package: it walks the protobuf
wire format (ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.name = 8,
raw_data = 9) and patches the float in place.

usage: bump_bias.py IN.onnx OUT.onnx NAME K DELTA"""
import struct
import sys


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def fields(b, lo, hi):
    """yields (field, wiretype, start, end) of the length-delimited fields in b[lo:hi]"""
    i = lo
    while i < hi:
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            _, i = varint(b, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, i = varint(b, i)
            yield f, i, i + n
            i += n
        else:
            sys.exit("bump_bias: unsupported wire type %d" % wt)


def main():
    src, dst, name, k, delta = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    b = bytearray(open(src, "rb").read())
    for f, lo, hi in fields(b, 0, len(b)):
        if f != 7:
            continue
        for g, tlo, thi in fields(b, lo, hi):
            if g != 5:
                continue
            parts = {h: (a, z) for h, a, z in fields(b, tlo, thi)}
            if 8 in parts and bytes(b[parts[8][0]:parts[8][1]]).decode() == name and 9 in parts:
                at = parts[9][0] + 4 * k
                v = struct.unpack_from("<f", b, at)[0]
                struct.pack_into("<f", b, at, v + delta)
                open(dst, "wb").write(b)
                return
    sys.exit("bump_bias: no float initializer '%s' with raw_data in %s" % (name, src))


main()
