#!/usr/bin/python3
"""Write small LiteMedSAM-shaped checkpoints for the loader's key checks (no torch).

    /usr/bin/python3 tests/data/model/make_bad_models.py

Every tensor of litemedsam_state_dict.tsv is present with its dtype and shape,
but all of a dtype share one 1-element storage viewed with zero strides
(as torch saves an expanded tensor), so each file is a few tens of KB:

  bad/all_keys_ok.pth     every key right, wrapped as {"model": sd, "epoch": 3}
                          with DDP "module." prefixes: must load
  bad/missing_key.pth     without mask_decoder.iou_token.weight
  bad/wrong_shape.pth     layers.2.blocks.3.attn.attention_biases as 5x49
  bad/unexpected_key.pth  an extra image_encoder.head.weight
  bad/wrong_dtype.pth     prompt_encoder.no_mask_embed.weight as int64

The pickles come from Python's own pickler against stand-in torch classes,
so the opcodes are what a real torch.save emits.  Output is deterministic.
"""
import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad")

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
FloatStorage = type("FloatStorage", (), {"__module__": "torch"})
LongStorage = type("LongStorage", (), {"__module__": "torch"})
torch.FloatStorage = FloatStorage
torch.LongStorage = LongStorage


class Storage:
    def __init__(self, key, cls, raw):
        self.key, self.cls, self.raw = key, cls, raw


class Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), (0,) * len(self.shape),
                                     False, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", 1)
        return None


F32 = Storage("0", FloatStorage, struct.pack("<f", 0.5))
I64 = Storage("1", LongStorage, struct.pack("<q", 7))


def spec():
    rows = []
    with open(os.path.join(HERE, "litemedsam_state_dict.tsv")) as f:
        next(f)
        for line in f:
            key, dtype, shape = line.rstrip("\n").split("\t")
            dims = () if shape == "scalar" else tuple(int(d) for d in shape.split("x"))
            rows.append((key, dtype, dims))
    return rows


def state_dict(prefix="", drop=None, reshape=None, extra=None, int_key=None):
    sd = collections.OrderedDict()
    for key, dtype, dims in spec():
        if key == drop:
            continue
        if reshape and key == reshape[0]:
            dims = reshape[1]
        st = I64 if dtype == "int64" or key == int_key else F32
        sd[prefix + key] = Tensor(st, dims)
    if extra:
        sd[prefix + extra] = Tensor(F32, (4, 4))
    return sd


def save(name, obj):
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(obj)
    members = [("data.pkl", buf.getvalue()), ("data/0", F32.raw), ("data/1", I64.raw),
               ("version", b"3\n")]
    with zipfile.ZipFile(os.path.join(OUT, name), "w", zipfile.ZIP_STORED) as z:
        for n, d in members:
            z.writestr(zipfile.ZipInfo("archive/" + n, (1980, 1, 1, 0, 0, 0)), d)


def main():
    os.makedirs(OUT, exist_ok=True)
    save("all_keys_ok.pth", {"model": state_dict(prefix="module."), "epoch": 3})
    save("missing_key.pth", state_dict(drop="mask_decoder.iou_token.weight"))
    save("wrong_shape.pth", state_dict(
        reshape=("image_encoder.layers.2.blocks.3.attn.attention_biases", (5, 49))))
    save("unexpected_key.pth", state_dict(extra="image_encoder.head.weight"))
    save("wrong_dtype.pth", state_dict(int_key="prompt_encoder.no_mask_embed.weight"))


if __name__ == "__main__":
    main()
