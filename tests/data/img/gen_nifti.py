#!/usr/bin/python3
"""Generate the NIfTI test data of tests/io/test_nifti.c (run from anywhere with
Debian's /usr/bin/python3; needs only the standard library).

- copies the two reference cases (image + label) from ../shared/fixtures and
  writes nifti_facts.txt: per file the header facts and an FNV-1a 64 hash of
  the raw voxel bytes, decoded here with gzip + struct, independently of the C
  code under test;
- writes small synthetic files: a scaled int16 NIfTI-1, a NIfTI-2, a
  big-endian NIfTI-1, a 2D and a "4D with dim[4] = 1" file;
- writes the bad-input corpus tests/data/bad/nifti_*.
Voxel values of the synthetic files follow formulas the C test recomputes.
"""
import gzip, os, shutil, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, '..', 'bad')
FIX = os.path.join(HERE, '..', '..', '..', '..', 'shared', 'fixtures', 'preprocess', 'inputs')

DT = {2: ('B', 1), 4: ('h', 2), 8: ('i', 4), 16: ('f', 4), 64: ('d', 8), 256: ('b', 1),
      512: ('H', 2), 768: ('I', 4), 1024: ('q', 8), 1280: ('Q', 8)}


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def n1_header(dims, datatype, bitpix, pixdim=(1, 1, 1, 1), slope=0.0, inter=0.0,
              vox_offset=352.0, magic=b'n+1\0', endian='<'):
    d = list(dims) + [1] * (8 - len(dims))
    h = bytearray(348)
    struct.pack_into(endian + 'i', h, 0, 348)
    struct.pack_into(endian + '8h', h, 40, *d)
    struct.pack_into(endian + 'hh', h, 70, datatype, bitpix)
    pd = [1.0] + list(pixdim) + [0.0] * (7 - len(pixdim))
    struct.pack_into(endian + '8f', h, 76, *pd)
    struct.pack_into(endian + 'fff', h, 108, vox_offset, slope, inter)
    struct.pack_into(endian + 'hh', h, 252, 1, 1)                   # qform, sform codes
    struct.pack_into(endian + '6f', h, 256, 0, 0, 1, 10.0, 20.0, 30.0)
    struct.pack_into(endian + '12f', h, 280, -pixdim[0], 0, 0, 10.0,
                     0, -pixdim[1], 0, 20.0, 0, 0, pixdim[2], 30.0)
    h[344:348] = magic
    return bytes(h) + b'\0' * 4


def n2_header(dims, datatype, bitpix, pixdim=(1, 1, 1), slope=0.0, inter=0.0, vox_offset=544):
    d = list(dims) + [1] * (8 - len(dims))
    h = bytearray(540)
    struct.pack_into('<i', h, 0, 540)
    h[4:12] = b'n+2\0\r\n\x1a\n'
    struct.pack_into('<hh', h, 12, datatype, bitpix)
    struct.pack_into('<8q', h, 16, *d)
    pd = [1.0] + list(pixdim) + [0.0] * (7 - len(pixdim))
    struct.pack_into('<8d', h, 104, *pd)
    struct.pack_into('<q', h, 168, vox_offset)
    struct.pack_into('<dd', h, 176, slope, inter)
    struct.pack_into('<ii', h, 344, 0, 0)
    return bytes(h) + b'\0' * 4


def vol(nx, ny, nz, f, fmt, endian='<'):
    vals = [f(x, y, z) for z in range(nz) for y in range(ny) for x in range(nx)]
    return struct.pack(endian + '%d%s' % (len(vals), fmt), *vals)


def write(path, data, gz=False):
    if gz:
        data = gzip.compress(data, mtime=0)
    with open(path, 'wb') as f:
        f.write(data)


def facts():
    lines = ['# name nx ny nz datatype pixdim1 pixdim2 pixdim3 scl_slope fnv1a64(raw voxel bytes) min max']
    for sub, name in (('images', 'kmeans_0000.nii.gz'), ('labels', 'kmeans.nii.gz'),
                      ('images', 'stent_half_0000.nii.gz'), ('labels', 'stent_half.nii.gz')):
        src = os.path.join(FIX, sub, name)
        dst = os.path.join(HERE, ('lab_' if sub == 'labels' else '') + name)
        shutil.copyfile(src, dst)
        raw = gzip.open(src).read()
        assert struct.unpack_from('<i', raw, 0)[0] == 348 and raw[344:348] == b'n+1\0'
        dim = struct.unpack_from('<8h', raw, 40)
        dt, bitpix = struct.unpack_from('<hh', raw, 70)
        pixdim = struct.unpack_from('<8f', raw, 76)
        off, slope, inter = struct.unpack_from('<fff', raw, 108)
        fmt, size = DT[dt]
        n = dim[1] * dim[2] * dim[3]
        data = raw[int(off):int(off) + n * size]
        assert len(data) == n * size and dim[0] == 3
        v = struct.unpack('<%d%s' % (n, fmt), data)
        lines.append('%s %d %d %d %d %.9g %.9g %.9g %.9g %016x %g %g' % (
            os.path.basename(dst), dim[1], dim[2], dim[3], dt, pixdim[1], pixdim[2], pixdim[3],
            slope, fnv1a64(data), min(v), max(v)))
    with open(os.path.join(HERE, 'nifti_facts.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def synthetic():
    # scaled int16: value(x,y,z) = (x*7 + y*131 + z*1009) % 4000 - 2000; slope 2, inter -1024
    f16 = lambda x, y, z: (x * 7 + y * 131 + z * 1009) % 4000 - 2000
    write(os.path.join(HERE, 'scaled_i16.nii.gz'),
          n1_header((3, 5, 4, 3), 4, 16, (0.5, 0.75, 2.5), 2.0, -1024.0) + vol(5, 4, 3, f16, 'h'), gz=True)
    # int32 past float's 24-bit mantissa, slope 3, inter 0.5: ITK casts to
    # float before scaling, which the expected values in the test reflect
    big = [16777217, -16777219, 123456789, 7]
    write(os.path.join(HERE, 'scaled_i32.nii'),
          n1_header((3, 4, 1, 1), 8, 32, (1, 1, 1), 3.0, 0.5) + struct.pack('<4i', *big))
    # float32 with NaN and infinities: nifti_clib (hence ITK) reads them as 0
    write(os.path.join(HERE, 'nonfinite_f32.nii'),
          n1_header((3, 4, 1, 1), 16, 32) + struct.pack('<4f', 1.5, float('nan'), float('inf'), -float('inf')))
    # NIfTI-2 int32, value = x + 10 y + 100 z - 500
    f32 = lambda x, y, z: x + 10 * y + 100 * z - 500
    write(os.path.join(HERE, 'n2_i32.nii'),
          n2_header((3, 6, 5, 4), 8, 32, (1.5, 1.25, 4.0)) + vol(6, 5, 4, f32, 'i'))
    # NIfTI-2, float32, gzipped, scaled by (1, 0) = not scaled: value = x*0.5 - y + z*0.25
    ff = lambda x, y, z: x * 0.5 - y + z * 0.25
    write(os.path.join(HERE, 'n2_f32.nii.gz'),
          n2_header((3, 4, 3, 2), 16, 32, (1, 1, 1), 1.0, 0.0) + vol(4, 3, 2, ff, 'f'), gz=True)
    # big-endian NIfTI-1 uint16, value = x*1000 + y*100 + z (exercise swapping)
    fu = lambda x, y, z: x * 1000 + y * 100 + z
    write(os.path.join(HERE, 'be_u16.nii'),
          n1_header((3, 7, 3, 2), 512, 16, (1, 1, 1), endian='>') + vol(7, 3, 2, fu, 'H', '>'))
    # the same volume gzipped as three gzip members (cut inside the header and
    # inside the data, as concatenated .gz files are) plus 16 zero bytes of
    # padding after the last member: multi-member streams and swapping on the
    # .gz path
    raw = n1_header((3, 7, 3, 2), 512, 16, (1, 1, 1), endian='>') + vol(7, 3, 2, fu, 'H', '>')
    with open(os.path.join(HERE, 'be_u16_members.nii.gz'), 'wb') as f:
        for part in (raw[:100], raw[100:380], raw[380:]):
            f.write(gzip.compress(part, mtime=0))
        f.write(b'\0' * 16)
    # 2D uint8 slice, value = (x + 3 y) % 256; and 4D with dim[4] == 1 (float64)
    f2 = lambda x, y, z: (x + 3 * y) % 256
    write(os.path.join(HERE, 'slice2d_u8.nii'), n1_header((2, 9, 8), 2, 8, (0.8, 0.9, 0.0)) + vol(9, 8, 1, f2, 'B'))
    fd = lambda x, y, z: x - y * z / 3.0
    write(os.path.join(HERE, 'dim4_f64.nii.gz'),
          n1_header((4, 3, 3, 3, 1), 64, 64, (1, 2, 3, 9)) + vol(3, 3, 3, fd, 'd'), gz=True)


def bad():
    os.makedirs(BAD, exist_ok=True)
    ok = lambda x, y, z: (x * y + z) % 256
    body = vol(4, 4, 4, ok, 'B')
    write(os.path.join(BAD, 'nifti_negative_dim.nii'), n1_header((3, 4, -4, 4), 2, 8) + body)
    write(os.path.join(BAD, 'nifti_zero_dim0.nii'), n1_header((0, 4, 4, 4), 2, 8) + body)
    write(os.path.join(BAD, 'nifti_huge_dims.nii.gz'), n1_header((3, 32767, 32767, 32767), 64, 64) + body, gz=True)
    write(os.path.join(BAD, 'nifti2_huge_dims.nii'), n2_header((3, 1 << 40, 1 << 40, 1 << 40), 2, 8) + body)
    write(os.path.join(BAD, 'nifti_complex64.nii'), n1_header((3, 4, 4, 4), 32, 64) + body * 8)
    write(os.path.join(BAD, 'nifti_rgb24.nii.gz'), n1_header((3, 4, 4, 4), 128, 24) + body * 3, gz=True)
    write(os.path.join(BAD, 'nifti_real_4d.nii'), n1_header((4, 4, 4, 2, 2), 2, 8) + body)
    write(os.path.join(BAD, 'nifti_bad_magic.nii'), n1_header((3, 4, 4, 4), 2, 8, magic=b'n+3\0') + body)
    write(os.path.join(BAD, 'nifti_pair_header.nii'), n1_header((3, 4, 4, 4), 2, 8, magic=b'ni1\0') + body)
    write(os.path.join(BAD, 'nifti_bad_vox_offset.nii'), n1_header((3, 4, 4, 4), 2, 8, vox_offset=-1.0) + body)
    write(os.path.join(BAD, 'nifti_short_header.nii'), n1_header((3, 4, 4, 4), 2, 8)[:200])
    write(os.path.join(BAD, 'nifti_truncated_data.nii'), n1_header((3, 4, 4, 4), 2, 8) + body[:40])
    # gzip stream cut in the middle of the voxel data (the header is intact)
    big = n1_header((3, 32, 32, 16), 4, 16) + vol(32, 32, 16, lambda x, y, z: (x * 977 + y * 131 + z * 7919) % 30011, 'h')
    gzb = gzip.compress(big, mtime=0)
    write(os.path.join(BAD, 'nifti_truncated.nii.gz'), gzb[:len(gzb) // 2])
    # the same stream with bytes in the middle of the deflate data altered
    # (length kept): a damaged file, not a short one
    bad_gz = bytearray(gzb)
    for i in range(len(gzb) // 2, len(gzb) // 2 + 64):
        bad_gz[i] ^= 0x5a
    write(os.path.join(BAD, 'nifti_corrupt.nii.gz'), bytes(bad_gz))
    # a .nii that is really gzip data
    write(os.path.join(BAD, 'nifti_gz_named_nii.nii'), gzip.compress(n1_header((3, 4, 4, 4), 2, 8) + body, mtime=0))


if __name__ == '__main__':
    facts()
    synthetic()
    bad()
