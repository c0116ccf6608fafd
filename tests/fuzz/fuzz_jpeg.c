/* Fuzz target: the JPEG reader on arbitrary bytes.  An accepted image is
 * (H, W) or (H, W, 3) uint8 within the limit; a refusal names the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_limits lim = { 16u << 20 };
    ms_array a;
    ms_image_info info;
    ms_err err;
    int rc = ms_jpeg_read_mem(data, size, &a, &info, &lim, "fuzz.jpg", &err);
    if (rc < 0) {
        if (rc != err.code || !strstr(err.msg, "fuzz.jpg") || a.data || strchr(err.msg, '\n'))
            abort();
        return 0;
    }
    size_t nbytes = ms_array_nbytes(&a);
    int ch = a.ndim == 3 ? (int)a.shape[2] : 1;
    if (a.dtype != MS_U8 || nbytes > lim.max_bytes || !a.data || ch != info.channels ||
        (a.ndim == 3 && ch != 3) || (a.ndim != 2 && a.ndim != 3))
        abort();
    unsigned char acc = 0;
    for (size_t i = 0; i < nbytes; i++)
        acc ^= ((unsigned char *)a.data)[i];
    sink = acc;
    ms_array_free(&a);
    return 0;
}
