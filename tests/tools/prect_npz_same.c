/* Test helper for medsam-pre-ct: prect_npz_same A.npz B.npz NAME...
 * exits 0 when every named array has the same dtype, shape and bytes in
 * both archives, else prints the first difference and exits 1. */
#include <stdio.h>
#include <string.h>
#include "ms_npz.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: prect_npz_same A.npz B.npz NAME...\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        ms_array a = {0}, b = {0};
        ms_err err;
        int same = 0;
        if (ms_npz_load(argv[1], argv[i], &a, NULL, &err) || ms_npz_load(argv[2], argv[i], &b, NULL, &err)) {
            fprintf(stderr, "%s\n", err.msg);
        } else if (a.dtype != b.dtype || a.ndim != b.ndim ||
                   memcmp(a.shape, b.shape, sizeof a.shape[0] * (size_t)a.ndim)) {
            fprintf(stderr, "%s: dtype or shape differ\n", argv[i]);
        } else {
            size_t n = ms_array_nbytes(&a), k = 0;
            const unsigned char *pa = a.data, *pb = b.data;
            while (k < n && pa[k] == pb[k])
                k++;
            same = k == n;
            if (!same)
                fprintf(stderr, "%s: byte %zu differs\n", argv[i], k);
        }
        ms_array_free(&a);
        ms_array_free(&b);
        if (!same)
            return 1;
    }
    return 0;
}
