/* Fuzz target: the whole .pth reader on arbitrary bytes held in memory: the
 * zip directory (libzip and our local-header index into stored members),
 * data.pkl and the storages.  An error names the file and leaves nothing
 * behind; an accepted checkpoint converts every tensor within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msnn_pth *p = NULL;
    ms_err err = { 0 };
    int rc = msnn_pth_open_mem(data, size, "fuzz.pth", 16u << 20, &p, &err);
    if (rc < 0) {
        if (rc != err.code || !strstr(err.msg, "fuzz.pth") || p)
            abort();
        return 0;
    }
    if (rc != MS_OK || !p || msnn_pth_count(p) == 0)
        abort();
    for (size_t i = 0; i < msnn_pth_count(p); i++) {
        const msnn_pth_tensor *t = msnn_pth_at(p, i);
        size_t n = 1;
        for (int d = 0; d < t->ndim; d++)
            n *= (size_t)t->shape[d];       /* bounded at open by the 16 MiB limit */
        if (msnn_pth_find(p, t->name) != t || n > (4u << 20))
            abort();
        float *v = malloc((n ? n : 1) * sizeof *v);
        if (v && msnn_pth_to_f32(p, t, v, n, &err) != MS_OK)
            abort();
        free(v);
    }
    msnn_pth_close(&p);
    return 0;
}
