/* Fuzz target: the NIfTI reader (our header checks, then nifti_clib) on
 * arbitrary bytes.  nifti_clib reads files, so the input goes to a temporary
 * file: .nii.gz when it starts with the gzip magic, .nii otherwise.  An
 * accepted volume must match what ms_nifti_peek says and stay within the
 * limit; a refusal names the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ms_nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_limits lim = { 16u << 20 };
    ms_volume v, p;
    ms_err err, perr;
    int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    const char *tmpdir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz_nifti_XXXXXX%s", tmpdir && *tmpdir ? tmpdir : "/tmp",
             gz ? ".nii.gz" : ".nii");
    int fd = mkstemps(path, gz ? 7 : 4);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);

    int rc = ms_nifti_read(path, &v, &lim, &err);
    int rp = ms_nifti_peek(path, &p, &lim, &perr);
    unlink(path);
    if (rc < 0) {
        /* peek sees only the header: it may accept what read refuses, not
         * the other way round */
        if (rc != err.code || !strstr(err.msg, path) || v.a.data || (rp < 0 && rp != rc))
            abort();
        return 0;
    }
    if (rp != MS_OK || p.a.dtype != v.a.dtype || memcmp(p.a.shape, v.a.shape, sizeof p.a.shape))
        abort();
    size_t nbytes = ms_array_nbytes(&v.a);
    if (v.a.ndim != 3 || nbytes > lim.max_bytes || (nbytes && !v.a.data))
        abort();
    unsigned char acc = 0;
    for (size_t i = 0; i < nbytes; i++)
        acc ^= ((unsigned char *)v.a.data)[i];
    sink = acc;
    ms_volume_free(&v);
    return 0;
}
