/* Fuzz target: the restricted pickle machine and the state-dict builder of
 * the .pth reader on arbitrary data.pkl bytes.  Storages come from a fake
 * supplier (zeros, as many as the pickle declares, up to 1 MiB), so every
 * accepted tensor is also converted to float32 to exercise the strided copy.
 * Invariants: an error names the file, has the returned code and leaves no
 * object behind; an accepted checkpoint has consistent, in-bounds tensors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pickle.h"
#include "pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_MAX ((size_t)1 << 20)

static int fake_fetch(void *user, const char *key, size_t need, const void **data,
                      void **owned, ms_err *err)
{
    (void)user;
    *data = *owned = NULL;
    if (need > FAKE_MAX)
        return ms_seterr(err, MS_ETRUNC, "fuzz.pth: storage '%s' is short", key);
    /* exact size: ASan flags any read past what the pickle declared */
    if (need && !(*owned = calloc(1, need)))
        return ms_seterr(err, MS_ENOMEM, "fuzz.pth: out of memory");
    *data = *owned;
    return MS_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msnn_pth *p = NULL;
    ms_err err = { 0 };
    int rc = msnn__pth_from_pickle(data, size, "fuzz.pth", fake_fetch, NULL, 16u << 20, &p, &err);
    if (rc < 0) {
        if (rc != err.code || !strstr(err.msg, "fuzz.pth") || p)
            abort();
        return 0;
    }
    if (rc != MS_OK || !p || msnn_pth_count(p) == 0)
        abort();
    for (size_t i = 0; i < msnn_pth_count(p); i++) {
        const msnn_pth_tensor *t = msnn_pth_at(p, i);
        if (msnn_pth_find(p, t->name) != t || t->ndim < 0 || t->ndim > MSNN_PTH_MAX_NDIM)
            abort();
        size_t n = 1;
        for (int d = 0; d < t->ndim; d++)
            n *= (size_t)t->shape[d];       /* bounded at open by the 16 MiB limit */
        if (n > (4u << 20))
            abort();
        float *v = malloc((n ? n : 1) * sizeof *v);
        if (v && msnn_pth_to_f32(p, t, v, n, &err) != MS_OK)
            abort();
        free(v);
    }
    msnn_pth_close(&p);
    return 0;
}
