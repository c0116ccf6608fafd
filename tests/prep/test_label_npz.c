/* gts written from label runs (medsam-pre-ct): ms_label_runs_iter spells the
 * bytes ms_label_runs_paint writes, and ms_npz_write_ex with a run source
 * and any scratch writes the same file as ms_npz_write over the painted
 * array, at every level and with either codec (MEDSAM_DEFLATE). */
#include "ms_test.h"
#include "ms_cc.h"
#include "ms_npz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* Blobs of values 1..nv on a zero background, plus speckle (every
 * `speckle`-th voxel a random value; 0 = none). */
static void volume(uint8_t *v, int d, int h, int w, unsigned seed, int nv, int speckle)
{
    memset(v, 0, (size_t)d * h * w);
    for (int b = 0; b < 6; b++) {
        int cz = (int)(rnd(&seed) % d), cy = (int)(rnd(&seed) % h), cx = (int)(rnd(&seed) % w);
        int r = 2 + (int)(rnd(&seed) % 9);
        uint8_t val = (uint8_t)(1 + rnd(&seed) % nv);
        for (int z = 0; z < d; z++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    if ((z - cz) * (z - cz) * 4 + (y - cy) * (y - cy) + (x - cx) * (x - cx) < r * r)
                        v[((size_t)z * h + y) * w + x] = val;
    }
    if (speckle)
        for (size_t i = 0; i < (size_t)d * h * w; i += 1 + rnd(&seed) % speckle)
            v[i] = (uint8_t)(rnd(&seed) % 4);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *pa = slurp(a, &na), *pb = slurp(b, &nb);
    int same = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

/* The iterator spells the painted slices, maximal runs (no two neighbours
 * of one value among zeros... checked for zeros), twice over (rewind). */
static void check_iter(const ms_label_runs *r, const size_t *z, size_t nz, const uint8_t *paint,
                       size_t n)
{
    ms_label_runs_iter it;
    ms_label_runs_iter_init(&it, r, z, nz);
    uint8_t *got = malloc(n + 64);
    for (int pass = 0; pass < 2; pass++) {
        size_t at = 0, len;
        unsigned char v, prev = 1;
        int ok = 1, zeros_split = 0;
        while ((len = ms_label_runs_next(&it, &v))) {
            if (at + len > n) {
                ok = 0;
                break;
            }
            memset(got + at, v, len);
            zeros_split |= at && v == 0 && prev == 0;
            prev = v;
            at += len;
        }
        CHECKF(ok && at == n, "iter: %zu bytes of %zu", at, n);
        CHECKF(ok && memcmp(got, paint, n) == 0, "iter: bytes differ from paint (pass %d)", pass);
        CHECKF(!zeros_split, "iter: zeros not joined");
        ms_label_runs_rewind(&it);
    }
    free(got);
}

static void check_case(int d, int h, int w, unsigned seed, int nv, int speckle, const char *dir)
{
    size_t n = (size_t)d * h * w, slice = (size_t)h * w;
    uint8_t *v = malloc(n), *paint = malloc(n + 1);
    size_t *z = malloc((size_t)d * sizeof *z);
    ms_label_runs r;
    ms_err err;
    volume(v, d, h, w, seed, nv, speckle);
    CHECK_EQ_INT(ms_cc_clean(v, d, h, w, MS_CONN_26, 20, MS_CONN_8, 4, &r, &err), MS_OK);
    size_t nz = ms_label_runs_nonzero_slices(&r, z);
    ms_label_runs_paint(&r, z, nz, paint);
    check_iter(&r, z, nz, paint, nz * slice);
    {   /* every slice, the empty ones too */
        size_t *all = malloc((size_t)d * sizeof *all);
        uint8_t *pall = malloc(n + 1);
        for (int k = 0; k < d; k++)
            all[k] = (size_t)k;
        ms_label_runs_paint(&r, all, (size_t)d, pall);
        check_iter(&r, all, (size_t)d, pall, n);
        free(all);
        free(pall);
    }

    /* a float image member first, as in pre-ct, so the scratch is reused */
    size_t ishape[3] = {nz, (size_t)h, (size_t)w}, gshape[3] = {nz, (size_t)h, (size_t)w};
    float *img = malloc((nz * slice + 1) * sizeof *img);
    for (size_t i = 0; i < nz * slice; i++)
        img[i] = (float)(rnd(&seed) % 7) + paint[i];
    ms_array ia = {.dtype = MS_F32, .ndim = 3, .data = img};
    ms_array ga = {.dtype = MS_U8, .ndim = 3, .data = paint}, gr = ga;
    memcpy(ia.shape, ishape, sizeof ishape);
    memcpy(ga.shape, gshape, sizeof gshape);
    memcpy(gr.shape, gshape, sizeof gshape);
    gr.data = NULL;
    ms_npz_entry want[2] = {{"imgs", &ia, 0}, {"gts", &ga, 1}};
    ms_npz_entry got[2] = {{"imgs", &ia, 0}, {"gts", &gr, 1}};
    ms_label_runs_iter it;
    ms_label_runs_iter_init(&it, &r, z, nz);
    ms_npz_runs src = {ms_label_runs_next, ms_label_runs_rewind, &it};
    const ms_npz_runs *runs[2] = {NULL, &src};
    size_t big = 2 * (nz * slice * 4 + 4096);
    unsigned char *scr = malloc(big);
    const size_t scr_len[] = {0, 100, nz * slice / 2, big};
    char pw[600], pg[600];
    snprintf(pw, sizeof pw, "%s/want.npz", dir);
    snprintf(pg, sizeof pg, "%s/got.npz", dir);
    static const int levels[] = {0, 1, 6, 9};
    for (size_t li = 0; li < 4; li++) {
        CHECK_EQ_INT(ms_npz_write(pw, want, 2, levels[li], &err), MS_OK);
        for (size_t si = 0; si < 4; si++) {
            CHECKF(ms_npz_write_ex(pg, got, 2, levels[li], runs, scr_len[si] ? scr : NULL,
                                   scr_len[si], &err) == MS_OK, "%s", err.msg);
            CHECKF(same_file(pw, pg), "%dx%dx%d speckle %d level %d scratch %zu: files differ", d, h,
                   w, speckle, levels[li], scr_len[si]);
        }
    }
    /* runs that do not cover the array */
    if (nz) {
        gr.shape[0] = nz + 1;
        CHECK_EQ_INT(ms_npz_write_ex(pg, got, 2, 1, runs, NULL, 0, &err), MS_EINVAL);
        CHECK_STR_CONTAINS(err.msg, "runs of 'gts.npy' cover");
        CHECK_EQ_INT(access(pg, F_OK) == 0, 1);   /* the earlier file stays */
    }
    ms_array f32 = ga;
    f32.dtype = MS_F32;
    got[1].array = &f32;
    CHECK_EQ_INT(ms_npz_write_ex(pg, got, 2, 1, runs, NULL, 0, &err), MS_EINVAL);
    free(scr);
    free(img);
    ms_label_runs_free(&r);
    free(v);
    free(paint);
    free(z);
}

int main(void)
{
    char dir[256];
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ms-label-npz-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    check_case(1, 1, 1, 1, 1, 0, dir);
    check_case(4, 9, 13, 2, 3, 0, dir);
    check_case(12, 40, 64, 3, 5, 0, dir);
    check_case(30, 64, 96, 4, 2, 0, dir);
    check_case(20, 48, 80, 5, 4, 3, dir);   /* speckled: the general compressor */
    check_case(3, 5, 70, 6, 1, 0, dir);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
    TEST_END();
}
