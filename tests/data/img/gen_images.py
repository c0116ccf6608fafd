#!/usr/bin/python3
"""Generate the PNG/JPEG test data of tests/io/test_image.c (Debian's
/usr/bin/python3 with numpy and PIL).

Every case is listed in image_cases.txt:
    <image> <index|rgb> <expected.npy> <bit_depth> <is_palette> <palette_grey>
The expected arrays are the source arrays (for the PNGs we encode) or what PIL
decodes (JPEG, real images), in our conventions: 1/2/4-bit grey unscaled,
16-bit native, palette as indices or colours.  PIL must decode every PNG we
encode by hand to the same values (checked here), so the encoder cannot be
wrong in a way that the C reader would share.

Real images (Debian packages, see README): BrainProtonDensitySliceBorder20.png
and ...Mask.png from insighttoolkit5-examples (Apache-2.0), retina.jpg from
python3-skimage (CC0 1.0).  Pass the folder holding them (default
/tmp/img_pkgs/x, where `apt-get download` + `dpkg -x` put them).

Bad inputs go to ../bad/png_* and ../bad/jpeg_*.
"""
import io, os, struct, sys, zlib
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, '..', 'bad')
PKG = sys.argv[1] if len(sys.argv) > 1 else '/tmp/img_pkgs/x'
ITK = os.path.join(PKG, 'usr/share/doc/insighttoolkit5-examples/examples/Data')
SKI = os.path.join(PKG, 'usr/lib/python3/dist-packages/skimage/data')
rng = np.random.default_rng(20240601)
cases = []


def chunk(kind, data):
    c = kind + data
    return struct.pack('>I', len(data)) + c + struct.pack('>I', zlib.crc32(c) & 0xffffffff)


def pack_row(row, bits):
    """Pack one row of samples (< 8 bits) MSB first, padding the last byte."""
    out, acc, n = bytearray(), 0, 0
    for v in row:
        acc = (acc << bits) | int(v)
        n += bits
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def encode_png(a, bits, color_type, interlace=False, plte=None, trns=None):
    """Minimal PNG encoder (filter 0) for data PIL cannot write."""
    h, w = a.shape[:2]
    samples = a.reshape(h, w, -1)

    def rows_of(img):
        raw = b''
        for r in img:
            flat = r.reshape(-1)
            if bits < 8:
                raw += b'\0' + pack_row(flat, bits)
            elif bits == 16:
                raw += b'\0' + flat.astype('>u2').tobytes()
            else:
                raw += b'\0' + flat.astype('u1').tobytes()
        return raw

    if interlace:
        raw = b''
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += rows_of(sub)
    else:
        raw = rows_of(samples)
    png = b'\x89PNG\r\n\x1a\n'
    png += chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, bits, color_type, 0, 0, 1 if interlace else 0))
    if plte is not None:
        png += chunk(b'PLTE', bytes(plte.astype('u1').reshape(-1)))
    if trns is not None:
        png += chunk(b'tRNS', trns)
    png += chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    return png


def save(name, data):
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(data)


def add(name, mode, expected, bits, is_pal=0, pal_grey=0):
    npy = name.rsplit('.', 1)[0] + ('.idx' if mode == 'index' and is_pal else '') + '.npy'
    np.save(os.path.join(HERE, npy), np.ascontiguousarray(expected))
    cases.append('%s %s %s %d %d %d' % (name, mode, npy, bits, is_pal, pal_grey))


def pil_array(name):
    return np.array(Image.open(os.path.join(HERE, name)))


def grey_low(bits, h, w, interlace=False):
    a = rng.integers(0, 1 << bits, size=(h, w), dtype=np.uint8)
    name = 'grey%d%s.png' % (bits, '_adam7' if interlace else '')
    save(name, encode_png(a, bits, 0, interlace))
    im = Image.open(os.path.join(HERE, name))
    got = np.array(im).astype(np.uint8)
    # PIL scales 2/4-bit grey to 0..255 and gives 1-bit as bool
    scale = {1: 1, 2: 85, 4: 17}[bits]
    assert np.array_equal(got, a * scale if bits > 1 else a), name
    add(name, 'index', a, bits)


def pngs():
    grey_low(1, 11, 13)
    grey_low(2, 7, 13)
    grey_low(4, 9, 5)
    grey_low(1, 10, 19, interlace=True)
    # 8-bit kinds that PIL writes itself
    for name, shape, mode in (('grey8.png', (12, 17), 'L'), ('greya8.png', (9, 14, 2), 'LA'),
                              ('rgb8.png', (10, 15, 3), 'RGB'), ('rgba8.png', (13, 6, 4), 'RGBA')):
        a = rng.integers(0, 256, size=shape, dtype=np.uint8)
        Image.fromarray(a, mode).save(os.path.join(HERE, name))
        assert np.array_equal(pil_array(name), a), name
        add(name, 'index', a, 8)
    # 16-bit grey (PIL) and 16-bit RGB (ours, PIL cannot read it: compare raw)
    a = rng.integers(0, 65536, size=(8, 11), dtype=np.uint16)
    Image.fromarray(a, 'I;16').save(os.path.join(HERE, 'grey16.png'))
    assert np.array_equal(pil_array('grey16.png'), a)
    add('grey16.png', 'index', a, 16)
    a = rng.integers(0, 65536, size=(5, 7, 3), dtype=np.uint16)
    save('rgb16.png', encode_png(a, 16, 2))
    add('rgb16.png', 'index', a, 16)
    a = rng.integers(0, 65536, size=(9, 10), dtype=np.uint16)
    save('grey16_adam7.png', encode_png(a, 16, 0, interlace=True))
    assert np.array_equal(pil_array('grey16_adam7.png'), a)
    add('grey16_adam7.png', 'index', a, 16)
    a = rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)
    save('rgb8_adam7.png', encode_png(a, 8, 2, interlace=True))
    assert np.array_equal(pil_array('rgb8_adam7.png'), a)
    add('rgb8_adam7.png', 'index', a, 8)
    # palettes: 8-bit with 200 colours, 4-bit grey palette, 2-bit with tRNS
    for name, bits, ncol, grey, trns in (('pal8.png', 8, 200, False, None),
                                         ('pal4_grey.png', 4, 16, True, None),
                                         ('pal2_trns.png', 2, 4, False, bytes([0, 128, 255]))):
        pal = rng.integers(0, 256, size=(ncol, 3), dtype=np.uint8)
        if grey:
            pal[:, 1] = pal[:, 2] = pal[:, 0]
        idx = rng.integers(0, ncol, size=(14, 9), dtype=np.uint8)
        save(name, encode_png(idx, bits, 3, plte=pal, trns=trns))
        im = Image.open(os.path.join(HERE, name))
        assert im.mode == 'P' and np.array_equal(np.array(im), idx), name
        add(name, 'index', idx, bits, 1, int(grey))
        rgb = pal[idx]
        if trns is not None:
            alpha = np.full(ncol, 255, np.uint8)
            alpha[:len(trns)] = list(trns)
            rgb = np.dstack([rgb, alpha[idx]])
            assert np.array_equal(np.array(im.convert('RGBA')), rgb)
        else:
            assert np.array_equal(np.array(im.convert('RGB')), rgb)
        add(name, 'rgb', rgb, bits, 1, int(grey))


def real():
    for name in ('BrainProtonDensitySliceBorder20.png', 'BrainProtonDensitySliceBorder20Mask.png'):
        data = open(os.path.join(ITK, name), 'rb').read()
        save(name, data)
        im = Image.open(io.BytesIO(data))
        bits = data[24]
        if im.mode == 'P':
            pal = np.array(im.getpalette()).reshape(-1, 3)
            grey = int(np.all(pal[:, 0] == pal[:, 1]) and np.all(pal[:, 1] == pal[:, 2]))
            add(name, 'index', np.array(im), bits, 1, grey)
            add(name, 'rgb', np.array(im.convert('RGB')), bits, 1, grey)
        else:
            add(name, 'index', np.array(im).astype(np.uint8), bits)


def jpegs():
    cell = np.array(Image.open(os.path.join(SKI, 'cell.png')))[100:148, 200:264]
    chelsea = np.array(Image.open(os.path.join(SKI, 'chelsea.png')))[60:105, 150:211]
    for name, arr, kw in (('grey.jpg', cell, dict(quality=90)),
                          ('rgb420.jpg', chelsea, dict(quality=85)),
                          ('rgb444.jpg', chelsea, dict(quality=95, subsampling=0)),
                          ('rgb_progressive.jpg', chelsea, dict(quality=80, progressive=True))):
        Image.fromarray(arr).save(os.path.join(HERE, name), **kw)
        add(name, 'index', pil_array(name), 8)
    # the real retina photograph: too big for an expected .npy, so a hash of
    # PIL's pixels goes into jpeg_facts.txt instead
    data = open(os.path.join(SKI, 'retina.jpg'), 'rb').read()
    save('retina.jpg', data)
    px = np.array(Image.open(io.BytesIO(data)))
    h = 0xcbf29ce484222325
    for b in px.tobytes():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    with open(os.path.join(HERE, 'jpeg_facts.txt'), 'w') as f:
        f.write('# name height width channels fnv1a64(PIL pixels)\n')
        f.write('retina.jpg %d %d %d %016x\n' % (px.shape[0], px.shape[1], px.shape[2], h))


def bad():
    os.makedirs(BAD, exist_ok=True)
    good = open(os.path.join(HERE, 'rgb8_adam7.png'), 'rb').read()
    open(os.path.join(BAD, 'png_truncated.png'), 'wb').write(good[:len(good) * 2 // 3])
    b = bytearray(good)
    i = b.index(b'IDAT')
    n = struct.unpack('>I', b[i - 4:i])[0]
    b[i + 4 + n] ^= 0x55                      # first byte of the IDAT CRC
    open(os.path.join(BAD, 'png_bad_crc.png'), 'wb').write(bytes(b))
    for name, w, h, ct in (('png_huge_ihdr.png', 100000, 100000, 6), ('png_zero_width.png', 0, 10, 0)):
        png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, ct, 0, 0, 0))
        png += chunk(b'IDAT', zlib.compress(b'\0' * 64)) + chunk(b'IEND', b'')
        open(os.path.join(BAD, name), 'wb').write(png)
    open(os.path.join(BAD, 'png_bad_signature.png'), 'wb').write(b'\x89PNG\r\n\x1a\x0a'[:7] + b'X' + good[8:])
    j = open(os.path.join(HERE, 'rgb420.jpg'), 'rb').read()
    open(os.path.join(BAD, 'jpeg_truncated.jpg'), 'wb').write(j[:len(j) * 3 // 5])
    # SOF0 declaring 60000 x 60000: over the 4 GiB default limit
    jb = bytearray(j)
    k = jb.index(b'\xff\xc0')
    struct.pack_into('>HH', jb, k + 5, 60000, 60000)
    open(os.path.join(BAD, 'jpeg_huge_dims.jpg'), 'wb').write(bytes(jb))
    # SOF0 of a 16x16 image with zero components: malformed, not truncated
    open(os.path.join(BAD, 'jpeg_bad_sof.jpg'), 'wb').write(
        b'\xff\xd8\xff\xc0\x00\x08\x08\x00\x10\x00\x10\x00' + b'\0' * 64 + b'\xff\xd9')
    open(os.path.join(BAD, 'jpeg_skimage_truncated.jpg'), 'wb').write(
        open(os.path.join(SKI, 'truncated.jpg'), 'rb').read())


if __name__ == '__main__':
    pngs()
    real()
    jpegs()
    with open(os.path.join(HERE, 'image_cases.txt'), 'w') as f:
        f.write('# image mode expected.npy bit_depth is_palette palette_grey (see gen_images.py)\n')
        f.write('\n'.join(cases) + '\n')
    bad()
