/* 2D images: pick the decoder from the file's first bytes, not its name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ms_image.h"

static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

int ms_image_read(const char *path, ms_array *out, ms_palette_mode pm,
                  ms_image_info *info, const ms_limits *lim, ms_err *err)
{
    unsigned char m[8];
    size_t n;
    FILE *f;

    memset(out, 0, sizeof *out);
    f = fopen(path, "rb");
    if (!f)
        return ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
    n = fread(m, 1, sizeof m, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return ms_seterr(err, MS_EIO, "%s: read error", path);
    if (n >= 4 && !memcmp(m, png_sig, n < 8 ? n : 8))
        return ms_png_read(path, out, pm, info, lim, err);
    if (n >= 3 && m[0] == 0xff && m[1] == 0xd8 && m[2] == 0xff)
        return ms_jpeg_read(path, out, info, lim, err);
    if (n == 0)
        return ms_seterr(err, MS_EFORMAT, "%s: empty file, not an image", path);
    return ms_seterr(err, MS_EFORMAT, "%s: not a PNG or JPEG file", path);
}
