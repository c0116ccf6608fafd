/* write_samples DIR: write every dtype in several shapes as DIR/<dtype>_<k>.npy
 * (ms_npy_write) and DIR/all_stored.npz, DIR/all_deflated.npz (ms_npz_write),
 * DIR/all_zip64.npz (zip64 records forced), DIR/all_labels.npz (members flagged
 * as labels), DIR/labels_big.npz (one that the run-length encoder takes),
 * values value(dtype, i).  check_numpy_load.py then np.loads them. */
#include <stdio.h>
#include <stdlib.h>

#include "ms_npy.h"
#include "ms_npz.h"
#include "npz_priv.h"
#include "io_test_util.h"

static const size_t shapes[][3] = {{0}, {5}, {3, 4}, {2, 3, 4}, {0, 3}, {3, 0, 2}};
static const int ndims[] = {0, 1, 2, 3, 2, 3};
#define NSHAPES (sizeof ndims / sizeof *ndims)

int main(int argc, char **argv)
{
    static ms_array arrays[MS_DTYPE_COUNT * NSHAPES];
    static ms_npz_entry entries[MS_DTYPE_COUNT * NSHAPES];
    static char names[MS_DTYPE_COUNT * NSHAPES][32];
    char path[600];
    ms_err err;
    int n = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: write_samples DIR\n");
        return 2;
    }
    for (int t = 0; t < MS_DTYPE_COUNT; t++)
        for (size_t s = 0; s < NSHAPES; s++) {
            ms_array *a = &arrays[n];
            if (ms_array_alloc(a, (ms_dtype)t, ndims[s], shapes[s], NULL, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            io_test_fill(a);
            snprintf(names[n], sizeof names[n], "%s_%zu", ms_dtype_name((ms_dtype)t), s);
            snprintf(path, sizeof path, "%s/%s.npy", argv[1], names[n]);
            if (ms_npy_write(path, a, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            entries[n].name = names[n];
            entries[n].array = a;
            n++;
        }
    snprintf(path, sizeof path, "%s/all_stored.npz", argv[1]);
    if (ms_npz_write(path, entries, n, -1, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/all_deflated.npz", argv[1]);
    if (ms_npz_write(path, entries, n, 6, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/all_zip64.npz", argv[1]);
    if (ms__npz_write_flags(path, entries, n, 9, 1, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/all_labels.npz", argv[1]);
    for (int i = 0; i < n; i++)
        entries[i].labels = 1;   /* every member through the run-length encoder */
    if (ms_npz_write(path, entries, n, 1, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    {   /* a label volume big and smooth enough for the run-length encoder */
        static const size_t shape[2] = {50, 512};
        ms_array g;
        if (ms_array_alloc(&g, MS_U8, 2, shape, NULL, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < 50 * 512; i++)
            ((unsigned char *)g.data)[i] = (unsigned char)(i / 1000 % 5);
        ms_npz_entry ge[1] = {{"gts", &g, 1}};
        snprintf(path, sizeof path, "%s/labels_big.npz", argv[1]);
        int rc = ms_npz_write(path, ge, 1, 6, &err);
        ms_array_free(&g);
        if (rc < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    snprintf(path, sizeof path, "%s/empty.npz", argv[1]);
    if (ms_npz_write(path, entries, 0, 6, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < n; i++)
        ms_array_free(&arrays[i]);
    return 0;
}
