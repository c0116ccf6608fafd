/* Fuzz target: medsam-segment's case loader (seg_case_load in
 * src/tools/segment_core.c): an npz with imgs / boxes / spacing, validated
 * for rank, dtype, finite and non-inverted boxes inside the image.
 *
 * Input: byte 0 picks the file name (even: "2D_fuzz.npz", odd:
 * "3D_fuzz.npz", which selects the 2D or 3D rules); the rest is the npz.
 * seg_case_load() takes a path, so the bytes go to a file in a private
 * temporary folder first.  On success every box must be finite, ordered
 * and inside the image; on failure the message must name the file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segment_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[64];

static void cleanup(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/2D_fuzz.npz", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/3D_fuzz.npz", g_dir);
    unlink(p);
    rmdir(g_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "/tmp/fuzz_segbox.XXXXXX");
        if (!mkdtemp(g_dir))
            abort();
        atexit(cleanup);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, (data[0] & 1) ? "3D_fuzz.npz" : "2D_fuzz.npz");
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0)
        abort();

    seg_case c;
    ms_err err;
    int rc = seg_case_load(path, &c, &err);
    if (rc != MS_OK) {
        if (c.boxes || c.imgs.data || !strstr(err.msg, "fuzz.npz"))
            abort();
        return 0;
    }
    int nd = c.is3d ? 6 : 4, half = nd / 2;
    double lim[3] = {c.w, c.h, c.d};
    if (c.is3d != ((data[0] & 1) != 0) || c.h < 1 || c.w < 1 || c.d < 1)
        abort();
    for (size_t i = 0; i < c.nbox; i++)
        for (int k = 0; k < half; k++) {
            double lo = c.boxes[i][k], hi = c.boxes[i][k + half];
            if (!isfinite(lo) || !isfinite(hi) || lo < 0 || hi > lim[k] || lo > hi)
                abort();
        }
    seg_case_free(&c);
    return 0;
}
