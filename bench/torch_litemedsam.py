#!/usr/bin/python3
"""LiteMedSAM in plain PyTorch, for timing PyTorch against bench_engine on the
same machine (issue 6, "Bench").

A compact re-statement of the model (TinyViT-5M-style encoder with a 1x1
stride-1 patch embedding and a 256-channel neck, SAM prompt encoder, SAM mask
decoder); parameter and buffer names follow the checkpoint's state-dict keys
(tests/data/model/litemedsam_state_dict.tsv) so that random_seed7.pth loads
with strict=True.

Usage (Debian python3-torch + libopenblas0-pthread):
  /usr/bin/python3 bench/torch_litemedsam.py [-w CKPT] [-d DIR] [-n RUNS]
      [-t 1,2] [--engine build/bench/bench_engine]
It first checks the embedding (and the box logits / iou) against DIR's
reference arrays, then prints the median encoder time and the median decoder
time per box (prompt encoder + mask decoder, one box, single-mask output) for
each torch thread count, eval mode, torch.inference_mode.  With --engine it
runs bench_engine with the same -n and -t right after, in the same process
tree, so both sets of numbers come from the same minutes.
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- encoder

class ConvBN(nn.Sequential):
    """Conv2d without bias followed by BatchNorm2d (keys .c / .bn)."""

    def __init__(self, cin, cout, k=1, stride=1, groups=1):
        super().__init__()
        self.c = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an NCHW map (eps 1e-6)."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        x = (x - mu) / torch.sqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class MBConv(nn.Module):
    def __init__(self, c, expand=4):
        super().__init__()
        h = c * expand
        self.conv1 = ConvBN(c, h)
        self.conv2 = ConvBN(h, h, 3, groups=h)
        self.conv3 = ConvBN(h, c)

    def forward(self, x):
        y = F.gelu(self.conv1(x))
        y = F.gelu(self.conv2(y))
        return F.gelu(self.conv3(y) + x)


class PatchMerging(nn.Module):
    """1x1 conv, depthwise 3x3 (stride 2, or 1 into the last stage), 1x1
    conv; takes NCHW or tokens, returns tokens."""

    def __init__(self, res, cin, cout, stride):
        super().__init__()
        self.res = res
        self.conv1 = ConvBN(cin, cout)
        self.conv2 = ConvBN(cout, cout, 3, stride, groups=cout)
        self.conv3 = ConvBN(cout, cout)

    def forward(self, x):
        if x.dim() == 3:
            b, n, c = x.shape
            x = x.transpose(1, 2).reshape(b, c, self.res, self.res)
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))
        return self.conv3(x).flatten(2).transpose(1, 2)


class WindowAttention(nn.Module):
    """Multi-head attention inside a ws x ws window with a learned bias per
    head and per |dy|, |dx| offset (LeViT style)."""

    def __init__(self, dim, heads, ws):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attention_biases = nn.Parameter(torch.zeros(heads, ws * ws))
        yy, xx = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
        yy, xx = yy.flatten(), xx.flatten()
        # offset (|dy|, |dx|) -> column |dy| * ws + |dx| of attention_biases
        idx = (yy[:, None] - yy[None]).abs() * ws + (xx[:, None] - xx[None]).abs()
        self.register_buffer("bias_idx", idx, persistent=False)
        self.bias = None

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm(x)).view(b, n, self.heads, 3 * self.hd)
        q, k, v = qkv.permute(0, 2, 1, 3).split(self.hd, dim=3)
        bias = self.bias if self.bias is not None else self.attention_biases[:, self.bias_idx]
        a = (q @ k.transpose(-2, -1)) * (self.hd ** -0.5) + bias
        y = (a.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(y)


class TokenMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(self.norm(x))))


class TinyViTBlock(nn.Module):
    def __init__(self, dim, res, heads, ws):
        super().__init__()
        self.res, self.ws = res, ws
        self.attn = WindowAttention(dim, heads, ws)
        self.mlp = TokenMlp(dim, 4 * dim)
        self.local_conv = ConvBN(dim, dim, 3, groups=dim)

    def forward(self, x):
        b, n, c = x.shape
        r, ws = self.res, self.ws
        if r == ws:
            y = self.attn(x)
        else:
            pad = (ws - r % ws) % ws
            g = x.view(b, r, r, c)
            if pad:
                g = F.pad(g, (0, 0, 0, pad, 0, pad))
            p = r + pad
            m = p // ws
            g = g.view(b, m, ws, m, ws, c).transpose(2, 3).reshape(b * m * m, ws * ws, c)
            g = self.attn(g)
            g = g.view(b, m, m, ws, ws, c).transpose(2, 3).reshape(b, p, p, c)
            y = g[:, :r, :r].reshape(b, n, c)
        x = x + y
        x = self.local_conv(x.transpose(1, 2).reshape(b, c, r, r))
        x = x.view(b, c, n).transpose(1, 2)
        return x + self.mlp(x)


class Stage(nn.Module):
    def __init__(self, blocks, downsample=None):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.seq = nn.Sequential(ConvBN(cin, c // 2), nn.GELU(), ConvBN(c // 2, c))

    def forward(self, x):
        return self.seq(x)


class ImageEncoder(nn.Module):
    def __init__(self, img=256, dims=(64, 128, 160, 320), depths=(2, 2, 6, 2),
                 heads=(2, 4, 5, 10), windows=(7, 7, 14, 7)):
        super().__init__()
        self.patch_embed = PatchEmbed(3, dims[0])
        # resolutions of the stages: 256, 128, 64, 64 (the last merge keeps 64)
        res = [img, img // 2, img // 4, img // 4]
        layers = [Stage([MBConv(dims[0]) for _ in range(depths[0])],
                        PatchMerging(res[0], dims[0], dims[1], 2))]
        for i in range(1, 4):
            blocks = [TinyViTBlock(dims[i], res[i], heads[i], windows[i])
                      for _ in range(depths[i])]
            down = None
            if i < 3:
                down = PatchMerging(res[i], dims[i], dims[i + 1], 1 if dims[i + 1] == 320 else 2)
            layers.append(Stage(blocks, down))
        self.layers = nn.ModuleList(layers)
        self.out_res = res[3]
        self.neck = nn.Sequential(
            nn.Conv2d(dims[3], 256, 1, bias=False), LayerNorm2d(256),
            nn.Conv2d(256, 256, 3, padding=1, bias=False), LayerNorm2d(256))

    def forward(self, x):
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        b, n, c = x.shape
        x = x.transpose(1, 2).reshape(b, c, self.out_res, self.out_res)
        return self.neck(x)


# ---------------------------------------------------------- prompt encoder

class RandomPE(nn.Module):
    def __init__(self, nfeat=128):
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, nfeat))

    def encode(self, xy01):
        t = (2 * xy01 - 1) @ self.positional_encoding_gaussian_matrix * (2 * math.pi)
        return torch.cat([t.sin(), t.cos()], dim=-1)

    def grid(self, h, w):
        ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w
        xy = torch.stack([xs[None, :].expand(h, w), ys[:, None].expand(h, w)], dim=-1)
        return self.encode(xy).permute(2, 0, 1)


class PromptEncoder(nn.Module):
    def __init__(self, dim=256, emb=(64, 64), img=(256, 256), mask_ch=16):
        super().__init__()
        self.dim, self.emb, self.img = dim, emb, img
        self.pe_layer = RandomPE(dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_ch // 4, 2, 2), LayerNorm2d(mask_ch // 4), nn.GELU(),
            nn.Conv2d(mask_ch // 4, mask_ch, 2, 2), LayerNorm2d(mask_ch), nn.GELU(),
            nn.Conv2d(mask_ch, dim, 1))
        self.no_mask_embed = nn.Embedding(1, dim)

    def dense_pe(self):
        return self.pe_layer.grid(*self.emb)[None]

    def forward(self, boxes):
        """boxes (B, 4) x0 y0 x1 y1 in input pixels -> sparse (B, 2, dim),
        dense (B, dim, 64, 64); box prompts only, no mask input."""
        corners = (boxes + 0.5).reshape(-1, 2, 2)
        scale = torch.tensor([1.0 / self.img[1], 1.0 / self.img[0]])
        sparse = self.pe_layer.encode(corners * scale)
        sparse = sparse + torch.stack([self.point_embeddings[2].weight[0],
                                       self.point_embeddings[3].weight[0]])
        dense = self.no_mask_embed.weight.view(1, -1, 1, 1).expand(
            boxes.shape[0], -1, self.emb[0], self.emb[1])
        return sparse, dense


# ------------------------------------------------------------ mask decoder

class Attention(nn.Module):
    def __init__(self, dim, heads, down=1):
        super().__init__()
        inner = dim // down
        self.heads = heads
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(dim, inner)
        self.v_proj = nn.Linear(dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def _split(self, x):
        b, n, c = x.shape
        return x.view(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q, k, v):
        q, k, v = self._split(self.q_proj(q)), self._split(self.k_proj(k)), self._split(self.v_proj(v))
        a = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        y = a.softmax(-1) @ v
        b, h, n, d = y.shape
        return self.out_proj(y.transpose(1, 2).reshape(b, n, h * d))


class MLPBlock(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.lin2(F.relu(self.lin1(x)))


class TwoWayBlock(nn.Module):
    def __init__(self, dim, heads, mlp, first):
        super().__init__()
        self.first = first
        self.self_attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, heads, 2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, heads, 2)

    def forward(self, qs, ks, qpe, kpe):
        if self.first:
            qs = self.self_attn(qs, qs, qs)
        else:
            t = qs + qpe
            qs = qs + self.self_attn(t, t, qs)
        qs = self.norm1(qs)
        kp = ks + kpe
        qs = self.norm2(qs + self.cross_attn_token_to_image(qs + qpe, kp, ks))
        qs = self.norm3(qs + self.mlp(qs))
        ks = self.norm4(ks + self.cross_attn_image_to_token(kp, qs + qpe, qs))
        return qs, ks


class TwoWayTransformer(nn.Module):
    def __init__(self, depth=2, dim=256, heads=8, mlp=2048):
        super().__init__()
        self.layers = nn.ModuleList(TwoWayBlock(dim, heads, mlp, i == 0) for i in range(depth))
        self.final_attn_token_to_image = Attention(dim, heads, 2)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(self, img, pe, tokens):
        ks = img.flatten(2).transpose(1, 2)
        kpe = pe.flatten(2).transpose(1, 2)
        qs = tokens
        for layer in self.layers:
            qs, ks = layer(qs, ks, tokens, kpe)
        qs = qs + self.final_attn_token_to_image(qs + tokens, ks + kpe, ks)
        return self.norm_final_attn(qs), ks


class MLP(nn.Module):
    def __init__(self, cin, hidden, cout, n):
        super().__init__()
        dims = [cin] + [hidden] * (n - 1) + [cout]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for i, lin in enumerate(self.layers):
            x = lin(x)
            if i + 1 < len(self.layers):
                x = F.relu(x)
        return x


class MaskDecoder(nn.Module):
    def __init__(self, dim=256, nmask=4):
        super().__init__()
        self.transformer = TwoWayTransformer()
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(nmask, dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, 2, 2), LayerNorm2d(dim // 4), nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, 2, 2), nn.GELU())
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(dim, dim, dim // 8, 3) for _ in range(nmask))
        self.iou_prediction_head = MLP(dim, 256, nmask, 3)

    def forward(self, img, pe, sparse, dense, multimask=False):
        nb = sparse.shape[0]
        out = torch.cat([self.iou_token.weight, self.mask_tokens.weight])
        tokens = torch.cat([out[None].expand(nb, -1, -1), sparse], dim=1)
        src = img.expand(nb, -1, -1, -1) + dense
        pos = pe.expand(nb, -1, -1, -1)
        b, c, h, w = src.shape
        hs, src = self.transformer(src, pos, tokens)
        up = self.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
        hyper = torch.stack([m(hs[:, 1 + i]) for i, m in
                             enumerate(self.output_hypernetworks_mlps)], dim=1)
        b, c, h, w = up.shape
        masks = (hyper @ up.view(b, c, h * w)).view(b, -1, h, w)
        iou = self.iou_prediction_head(hs[:, 0])
        sel = slice(1, None) if multimask else slice(0, 1)
        return masks[:, sel], iou[:, sel]


class LiteMedSAM(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_encoder = ImageEncoder()
        self.prompt_encoder = PromptEncoder()
        self.mask_decoder = MaskDecoder()
        self.pe = None

    def prepare(self):
        """Eval-mode caches: window biases gathered once, dense PE once."""
        self.eval()
        for m in self.modules():
            if isinstance(m, WindowAttention):
                m.bias = m.attention_biases[:, m.bias_idx].detach().clone()
        self.pe = self.prompt_encoder.dense_pe()
        return self

    def decode(self, emb, boxes):
        sparse, dense = self.prompt_encoder(boxes)
        return self.mask_decoder(emb, self.pe, sparse, dense)


# ------------------------------------------------------------------ main

def time_runs(fn, n):
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-w", default=os.path.join(root, "tests/data/model/random_seed7.pth"))
    ap.add_argument("-d", default=os.path.join(root, "tests/data/model/2D_brainpd"))
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("-t", default="1,2")
    ap.add_argument("--engine", help="bench_engine binary to run afterwards (same -n, -t)")
    a = ap.parse_args()

    model = LiteMedSAM()
    sd = torch.load(a.w, map_location="cpu")
    model.load_state_dict(sd, strict=True)
    model.prepare()
    x = torch.from_numpy(np.load(os.path.join(a.d, "input.npy")))
    boxes = torch.from_numpy(np.load(os.path.join(a.d, "boxes256.npy"))).float()

    print(f"torch {torch.__version__}, {torch.__config__.parallel_info().splitlines()[-1].strip()}")
    with torch.inference_mode():
        emb = model.image_encoder(x)
        ref = np.load(os.path.join(a.d, "embedding.npy"))
        d = np.abs(emb.numpy() - ref)
        print(f"embedding vs {os.path.basename(a.d)}/embedding.npy: max |d| {d.max():.3g}, mean {d.mean():.3g}")
        logits, iou = model.decode(emb, boxes)
        rl = os.path.join(a.d, "lowres_logits.npy")
        if os.path.exists(rl):
            dl = np.abs(logits[:, 0].numpy() - np.load(rl)).max()
            di = np.abs(iou[:, 0].numpy() - np.load(os.path.join(a.d, "iou.npy"))).max()
            print(f"logits max |d| {dl:.3g}, iou max |d| {di:.3g} ({len(boxes)} boxes)")

        for t in [int(s) for s in a.t.split(",")]:
            torch.set_num_threads(t)
            ew, ec = time_runs(lambda: model.image_encoder(x), a.n)
            # decoder per box: each box decoded alone against the cached embedding
            dw, dc = time_runs(lambda: [model.decode(emb, boxes[i:i + 1]) for i in range(len(boxes))], a.n)
            nb = len(boxes)
            print(f"torch threads {t}: encoder wall {ew * 1e3:.0f} ms (CPU {ec * 1e3:.0f} ms), "
                  f"decoder/box wall {dw / nb * 1e3:.1f} ms (CPU {dc / nb * 1e3:.1f} ms), median of {a.n}")
            sys.stdout.flush()

    if a.engine:
        sys.stdout.flush()
        subprocess.run([a.engine, "-w", a.w, "-d", a.d, "-n", str(a.n), "-t", a.t], check=False)


if __name__ == "__main__":
    main()
