/* Fuzz target: the npz reader (libzip + npy) on arbitrary bytes: open,
 * list, peek and read every member with a 16 MiB limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_npz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_limits lim = {16u << 20};
    ms_npz *z = NULL;
    ms_err err;

    if (ms_npz_open_mem(data, size, "fuzz.npz", &z, &lim, &err) < 0) {
        if (z || !strstr(err.msg, "fuzz.npz"))
            abort();
        return 0;
    }
    int n = ms_npz_count(z);
    for (int i = 0; i < n && i < 64; i++) {
        const char *name = ms_npz_name(z, i);
        ms_array a, p;
        if (!name || !ms_npz_has(z, name))
            abort();
        int rp = ms_npz_peek(z, name, &p, &err);
        int rc = ms_npz_read(z, name, &a, &err);
        if (rc == MS_OK) {
            size_t nb = ms_array_nbytes(&a);
            if (rp != MS_OK || p.dtype != a.dtype || p.ndim != a.ndim ||
                nb > lim.max_bytes || (nb && !a.data))
                abort();
            ms_array_free(&a);
        } else if (a.data || !strstr(err.msg, "fuzz.npz")) {
            abort();
        }
    }
    ms_npz_close(&z);
    return 0;
}
