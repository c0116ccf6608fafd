#!/usr/bin/python3
"""Write the hand-made .pth test cases of the checkpoint reader (no torch needed).

    /usr/bin/python3 tests/data/pth/make_pth_cases.py

good  -> tests/data/pth/handmade/*.pth + EXPECTED.txt (same format as the
         torch-*/EXPECTED.txt files written by real PyTorch)
bad   -> tests/data/bad/pth/*.pth + CASES.tsv (file, expected error, text the
         message must contain)

The pickles are written by Python's own pickle module against stand-in
`torch` / `torch._utils` modules, so the opcodes (GLOBAL, BINPERSID, REDUCE,
BUILD, MEMOIZE, FRAME...) are exactly what a real pickler emits; malicious
pickles are spelled out byte by byte.  Output is deterministic.
"""
import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = os.path.join(HERE, "handmade")
BAD = os.path.join(HERE, "..", "bad", "pth")

# ---------------------------------------------------------------- stand-in torch
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


def _rebuild_parameter(*args):
    raise RuntimeError("never called")


for f in (_rebuild_tensor_v2, _rebuild_parameter):
    f.__module__ = "torch._utils"
    setattr(torch_utils, f.__name__, f)

STORAGE = {}   # numpy dtype name -> stand-in storage class
for sname, dt in [("FloatStorage", "float32"), ("HalfStorage", "float16"),
                  ("DoubleStorage", "float64"), ("LongStorage", "int64"),
                  ("IntStorage", "int32"), ("ByteStorage", "uint8"),
                  ("BoolStorage", "bool"), ("BFloat16Storage", "bfloat16"),
                  ("ShortStorage", "int16")]:
    cls = type(sname, (), {"__module__": "torch"})
    setattr(torch, sname, cls)
    STORAGE[dt] = cls


class Storage:
    def __init__(self, key, dtype, raw, numel):
        self.key, self.dtype, self.raw, self.numel = key, dtype, raw, numel


class Tensor:
    """Pickles like torch.Tensor: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""
    def __init__(self, storage, offset, shape, stride, parameter=False):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride
        self.parameter = parameter

    def __reduce__(self):
        t = (_rebuild_tensor_v2, (self.storage, self.offset, tuple(self.shape), tuple(self.stride),
                                  False, collections.OrderedDict()))
        if self.parameter:
            inner = Tensor(self.storage, self.offset, self.shape, self.stride)
            return (_rebuild_parameter, (inner, True, collections.OrderedDict()))
        return t


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE[obj.dtype], obj.key, "cpu", obj.numel)
        return None


def dumps(obj, protocol):
    buf = io.BytesIO()
    Pickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def storages_of(obj, acc):
    """Every Storage reachable through dicts/lists/tensors (for the zip)."""
    if isinstance(obj, dict):
        for v in obj.values():
            storages_of(v, acc)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            storages_of(v, acc)
    elif isinstance(obj, Tensor):
        acc[obj.storage.key] = obj.storage.raw
    return acc


def write_zip(path, members, archive="archive", method=zipfile.ZIP_STORED):
    """members: list of (name, bytes); stored, like torch.save."""
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(f"{archive}/{name}" if archive else name, (1980, 1, 1, 0, 0, 0))
            zi.compress_type = method
            z.writestr(zi, data)


def save(path, obj, protocol=2, archive="archive", torch2=True, drop=(), replace=None,
         method=zipfile.ZIP_STORED):
    pkl = dumps(obj, protocol)
    members = [("data.pkl", pkl)]
    if torch2:
        members += [("byteorder", b"little"), (".format_version", b"1"),
                    (".storage_alignment", b"64")]
    members += [(f"data/{k}", v) for k, v in sorted(storages_of(obj, {}).items())]
    members += [("version", b"3\n")]
    members = [(n, (replace or {}).get(n, d)) for n, d in members if n not in drop]
    write_zip(path, members, archive, method)


# ---------------------------------------------------------------- tensors
_keys = iter(range(1000))


def raw_of(values, dtype):
    if dtype == "bfloat16":
        f = np.asarray(values, dtype=np.float32).view(np.uint32)
        return (f >> 16).astype("<u2").tobytes()          # exact for the values used
    return np.asarray(values, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()


def tensor(values, dtype, shape=None, stride=None, offset=0, parameter=False):
    """A tensor over a fresh storage holding `values` (1-D), viewed with shape/stride/offset."""
    values = list(values)
    if shape is None:
        shape = (len(values),)
    if stride is None:
        stride, acc = [], 1
        for d in reversed(shape):
            stride.insert(0, acc)
            acc *= d
    st = Storage(str(next(_keys)), dtype, raw_of(values, dtype), len(values))
    t = Tensor(st, offset, tuple(shape), tuple(stride), parameter)
    t.values = values
    return t


def view_values(t):
    """Elements of the view in C order, as float32 like msnn_pth_to_f32."""
    raw = t.storage.raw
    if t.storage.dtype == "bfloat16":
        base = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        base = np.frombuffer(raw, np.dtype(t.storage.dtype).newbyteorder("<"))
    base = base.astype(np.float64)
    out = []
    for idx in np.ndindex(*t.shape):
        out.append(base[t.offset + sum(i * s for i, s in zip(idx, t.stride))])
    return [float(np.float32(v)) for v in out]


def fmt_tuple(v):
    return "(" + ", ".join(str(x) for x in v) + ("," if len(v) == 1 else "") + ")"


def expected_lines(sd):
    lines = []
    for name, t in sd.items():
        if not isinstance(t, Tensor):
            continue
        name = name[7:] if name.startswith("module.") else name
        vals = ", ".join(repr(v) for v in view_values(t))
        lines.append(f"{name}\t{t.storage.dtype}\t{fmt_tuple(t.shape)}\tstride={fmt_tuple(t.stride)}"
                     f"\toffset={t.offset}\tvalues=[{vals}]")
    return lines


def good_cases():
    os.makedirs(GOOD, exist_ok=True)
    inf = float("inf")
    base24 = [float(i) for i in range(24)]
    # protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL; {"state_dict": sd, ...}
    sd = collections.OrderedDict()
    sd["module.h.special"] = tensor([0.0, -0.0, 1.0, 65504.0, 2.0 ** -24, 2.0 ** -15, 3 * 2.0 ** -16,
                                     inf, -inf, -2.5], "float16")
    sd["module.i.int32"] = tensor([-3, 0, 7, 2 ** 31 - 1], "int32")
    sd["module.j.u8"] = tensor([0, 255, 17], "uint8")
    sd["module.k.bool"] = tensor([True, False, True], "bool")
    sd["module.l.permuted"] = tensor(base24, "float32", shape=(3, 2, 4), stride=(1, 12, 3))
    sd["module.m.param"] = tensor([0.5, -1.25], "float32", parameter=True)
    sd["module.n.scalar"] = tensor([1.0, 2.0, 3.25], "float64", shape=(), stride=(), offset=2)
    sd["module.o.i64"] = tensor([-5, 2 ** 40], "int64")
    sd["module.p.bf16"] = tensor([1.0, -2.0, 0.15625, 3.0e38], "bfloat16", shape=(2, 2), stride=(1, 2))
    sd["module.q.shared"] = Tensor(sd["module.l.permuted"].storage, 20, (2, 2), (2, 1))
    sd["module.q.shared"].values = base24
    sd["module.r.offset300"] = tensor([float(i % 7) for i in range(304)], "float32",
                                      shape=(2, 2), stride=(2, 1), offset=300)   # BININT2
    sd["module.s.empty_far"] = tensor([1.0, 2.0], "float32", shape=(0, 3), stride=(1 << 62, 1),
                                      offset=100)   # no elements: strides and offset unchecked
    sd["module.version"] = 3                       # a non-tensor entry: ignored
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    wrapped = {"epoch": 4, "state_dict": sd, "optimizer": {"lr": 0.1, "state": {}},
               "note": "hand-made", "counters": [2 ** 40, -7, 70000, 300, -2 ** 63, 1.5, None]}
    save(os.path.join(GOOD, "proto4_state_dict.pth"), wrapped, protocol=4, archive="run 7")
    lines = ["proto4_state_dict.pth"] + expected_lines(sd)

    # protocol 2, OrderedDict with BUILD(_metadata), torch-1.x layout (no byteorder)
    sd2 = collections.OrderedDict()
    sd2["w"] = tensor([1.5, -2.0, 3.0, 4.0, 5.0, 6.0], "float32", shape=(2, 3))
    sd2["b"] = tensor([0.25], "float32")
    sd2._metadata = collections.OrderedDict([("", {"version": 1}), ("w", {"version": 2})])
    save(os.path.join(GOOD, "proto2_metadata.pth"), sd2, protocol=2, archive="m", torch2=False)
    lines += ["proto2_metadata.pth"] + expected_lines(sd2)
    # the same, deflated: read through libzip instead of the file mapping
    save(os.path.join(GOOD, "deflated.pth"), sd2, protocol=2, archive="m", method=zipfile.ZIP_DEFLATED)
    lines += ["deflated.pth"] + expected_lines(sd2)
    with open(os.path.join(GOOD, "EXPECTED.txt"), "w") as f:
        f.write("written by make_pth_cases.py; a line without tabs starts a file\n")
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- bad inputs
def P2(body):
    return b"\x80\x02" + body


def u32(n):
    return struct.pack("<I", n)


def bad_cases():
    os.makedirs(BAD, exist_ok=True)
    cases = []   # (file, code, message part)

    def add(name, code, part, pkl=None, members=None, raw=None):
        path = os.path.join(BAD, name)
        if raw is not None:
            with open(path, "wb") as f:
                f.write(raw)
        elif members is not None:
            write_zip(path, members)
        else:
            write_zip(path, [("data.pkl", pkl), ("version", b"3\n")])
        cases.append((name, code, part))

    # code execution through the allowed machinery
    add("os_system.pth", "MS_EUNSAFE", "os.system",
        P2(b"cos\nsystem\nX\x02\x00\x00\x00idR."))
    # what pickle.dumps(os.system) writes on Linux, called through the memo
    add("posix_system.pth", "MS_EUNSAFE", "posix.system",
        P2(b"cposix\nsystem\nq\x00h\x00X\x04\x00\x00\x00true\x85R."))
    add("builtins_eval.pth", "MS_EUNSAFE", "builtins.eval",
        P2(b"}(X\x01\x00\x00\x00acbuiltins\neval\nX\x06\x00\x00\x00'pwn!'\x85Ru."))
    add("stack_global_exec.pth", "MS_EUNSAFE", "builtins.exec",
        b"\x80\x04\x8c\x08builtins\x94\x8c\x04exec\x94\x93\x94\x8c\x01x\x94\x85\x94R\x94.")
    add("numpy_reconstruct.pth", "MS_EUNSAFE", "numpy.core.multiarray._reconstruct",
        P2(b"cnumpy.core.multiarray\n_reconstruct\n)R."))
    add("torchscript_class.pth", "MS_EUNSAFE", "__torch__.Model",
        P2(b"c__torch__\nModel\n)R."))
    add("inst_opcode.pth", "MS_EUNSAFE", "0x69",
        b"(ios\nsystem\n.")
    add("newobj_opcode.pth", "MS_EUNSAFE", "0x81",
        P2(b"ccollections\nOrderedDict\n)\x81."))
    add("reduce_on_dict.pth", "MS_EUNSAFE", "REDUCE on a dict",
        P2(b"})R."))
    # resource exhaustion / malformed structure
    add("deep_mark.pth", "MS_EFORMAT", "MARK nesting", P2(b"(" * 100000 + b"."))
    add("huge_binunicode.pth", "MS_EFORMAT", "string length",
        P2(b"X" + u32(0xFFFFFFF0) + b"abc."))
    add("huge_binunicode8.pth", "MS_EFORMAT", "string length",
        b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"abc.")
    add("memo_get_unset.pth", "MS_EFORMAT", "memo index 200",
        P2(b"}q\x00h\xc8."))
    add("memo_long_get.pth", "MS_EFORMAT", "memo index 4294967295",
        P2(b"}q\x00j\xff\xff\xff\xff."))
    add("memo_put_huge.pth", "MS_EFORMAT", "memo index beyond",
        P2(b"}r\xf0\xff\xff\x0f."))
    add("stack_underflow.pth", "MS_EFORMAT", "stack underflow", P2(b"s."))
    add("no_stop.pth", "MS_ETRUNC", "before STOP", P2(b"}(X\x01\x00\x00\x00aK\x01u"))
    add("unknown_opcode.pth", "MS_EFORMAT", "opcode 0xff", P2(b"}\xff."))
    add("not_a_dict.pth", "MS_EFORMAT", "not a state dict", P2(b"]."))
    add("no_tensors.pth", "MS_EFORMAT", "no tensors", P2(b"}X\x01\x00\x00\x00aK\x01s."))
    add("storage_key_path.pth", "MS_EFORMAT", "storage key",
        P2(b"}X\x01\x00\x00\x00actorch._utils\n_rebuild_tensor_v2\n(X\x07\x00\x00\x00storage"
           b"ctorch\nFloatStorage\nX\x10\x00\x00\x00../../etc/passwdX\x03\x00\x00\x00cpuK\x01tQ"
           b"K\x00K\x01\x85K\x01\x85\x89}tRs."))

    # zips built from a real-looking state dict
    sd = collections.OrderedDict()
    sd["a.weight"] = tensor([float(i) for i in range(12)], "float32", shape=(4, 3))
    sd["a.bias"] = tensor([1.0, 2.0, 3.0, 4.0], "float32")
    pkl = dumps(sd, 2)
    ka, kb = sd["a.weight"].storage.key, sd["a.bias"].storage.key
    full = [("data.pkl", pkl), (f"data/{ka}", sd["a.weight"].storage.raw),
            (f"data/{kb}", sd["a.bias"].storage.raw), ("version", b"3\n")]
    add("short_storage.pth", "MS_ETRUNC", "short storage",
        members=[(n, d[:20] if n == f"data/{ka}" else d) for n, d in full])
    add("missing_storage.pth", "MS_ENOTFOUND", f"archive/data/{kb}",
        members=[(n, d) for n, d in full if n != f"data/{kb}"])
    add("missing_data_pkl.pth", "MS_EFORMAT", "no ARCHIVE/data.pkl",
        members=[(n, d) for n, d in full if n != "data.pkl"])
    add("big_endian.pth", "MS_EUNSUPP", "big-endian",
        members=full[:1] + [("byteorder", b"big")] + full[1:])
    ok = io.BytesIO()
    with zipfile.ZipFile(ok, "w", zipfile.ZIP_STORED) as z:
        for n, d in full:
            z.writestr(zipfile.ZipInfo("archive/" + n, (1980, 1, 1, 0, 0, 0)), d)
    whole = ok.getvalue()
    add("truncated.pth", "MS_EFORMAT", "zip", raw=whole[: len(whole) // 2])
    add("truncated_tail.pth", "MS_EFORMAT", "zip", raw=whole[:-10])
    add("empty.pth", "MS_ETRUNC", "not a PyTorch checkpoint", raw=b"")
    add("text.pth", "MS_EFORMAT", "not a PyTorch checkpoint", raw=b"hello, this is not a model\n")
    oob = collections.OrderedDict()
    oob["v"] = tensor([0.0] * 12, "float32", shape=(4, 3), stride=(3, 1), offset=1)
    add("view_out_of_bounds.pth", "MS_EFORMAT", "beyond its storage",
        members=[("data.pkl", dumps(oob, 2)), (f"data/{oob['v'].storage.key}", oob["v"].storage.raw)])
    huge = collections.OrderedDict()
    huge["v"] = tensor([0.0] * 4, "float32", shape=(5, 2), stride=(1 << 62, 1))  # 4 * 2^62 wraps
    add("view_overflow.pth", "MS_EFORMAT", "beyond its storage",
        members=[("data.pkl", dumps(huge, 2)), (f"data/{huge['v'].storage.key}", huge["v"].storage.raw)])
    bcast = collections.OrderedDict()     # in bounds, but 2^50 elements as float32
    bcast["v"] = tensor([0.0], "float32", shape=(1 << 25, 1 << 25), stride=(0, 0))
    add("broadcast_huge.pth", "MS_ELIMIT", "more elements than",
        members=[("data.pkl", dumps(bcast, 2)), (f"data/{bcast['v'].storage.key}", bcast["v"].storage.raw)])
    i16 = collections.OrderedDict()
    i16["v"] = tensor([1, 2], "int16")
    add("int16_storage.pth", "MS_EUNSUPP", "torch.ShortStorage",
        members=[("data.pkl", dumps(i16, 2)), (f"data/{i16['v'].storage.key}", i16["v"].storage.raw)])
    dup = collections.OrderedDict()
    dup["module.x"] = tensor([1.0], "float32")
    dup["x"] = tensor([2.0], "float32")
    add("duplicate_name.pth", "MS_EFORMAT", "appears twice",
        members=[("data.pkl", dumps(dup, 2))] +
        [(f"data/{t.storage.key}", t.storage.raw) for t in dup.values()])

    ctl = collections.OrderedDict()
    ctl["a\x1b[2J\nb"] = tensor([1.0], "float32")
    add("control_chars_name.pth", "MS_EFORMAT", "control characters",
        members=[("data.pkl", dumps(ctl, 2))] +
        [(f"data/{t.storage.key}", t.storage.raw) for t in ctl.values()])

    with open(os.path.join(BAD, "CASES.tsv"), "w") as f:
        f.write("# file\texpected error\ttext the message must contain (written by "
                "tests/data/pth/make_pth_cases.py)\n")
        for c in cases:
            f.write("\t".join(c) + "\n")


if __name__ == "__main__":
    good_cases()
    bad_cases()
