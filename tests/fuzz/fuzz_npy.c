/* Fuzz target: the npy reader on arbitrary bytes.  Whatever it accepts must
 * be self-consistent and survive a write/read round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_limits lim = {16u << 20};
    ms_array a, b;
    ms_err err;
    int rc;

    rc = ms_npy_read_mem(data, size, &a, &lim, "fuzz.npy", &err);
    if (rc < 0) {
        if (rc != err.code || !strstr(err.msg, "fuzz.npy") || a.data || a.ndim)
            abort();
        return 0;
    }
    size_t nbytes = ms_array_nbytes(&a);
    if (nbytes > lim.max_bytes || (nbytes && !a.data))
        abort();
    /* Touch every byte (ASan checks the allocation size). */
    unsigned char acc = 0;
    for (size_t i = 0; i < nbytes; i++)
        acc ^= ((unsigned char *)a.data)[i];
    if (a.dtype == MS_BOOL)
        for (size_t i = 0; i < nbytes; i++)
            if (((unsigned char *)a.data)[i] > 1)
                abort();

    /* Round trip through our writer. */
    unsigned char hdr[1024];
    size_t hlen;
    if (ms_npy_header(&a, hdr, sizeof hdr, &hlen, &err) < 0 || hlen % 64)
        abort();
    unsigned char *buf = malloc(hlen + nbytes);
    if (buf) {
        memcpy(buf, hdr, hlen);
        if (nbytes)
            memcpy(buf + hlen, a.data, nbytes);
        if (ms_npy_read_mem(buf, hlen + nbytes, &b, &lim, "copy", &err) < 0)
            abort();
        if (b.dtype != a.dtype || b.ndim != a.ndim ||
            memcmp(b.shape, a.shape, sizeof a.shape) != 0 ||
            (nbytes && memcmp(a.data, b.data, nbytes) != 0))
            abort();
        ms_array_free(&b);
        free(buf);
    }
    sink = acc;
    ms_array_free(&a);
    return 0;
}
