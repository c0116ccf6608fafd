/* One hostile input: test_bad FILE EXPECTED_CODE [LIMIT_BYTES]
 * .npy files are read with ms_npy_read and ms_npy_read_mem, .npz files with
 * ms_npz_load(file, "a").  The reader must fail with EXPECTED_CODE, name the
 * file in its message, and leave the output array empty. */
#include <stdlib.h>
#include <string.h>

#include "ms_npy.h"
#include "ms_npz.h"
#include "ms_test.h"
#include "io_test_util.h"

static const struct { const char *name; int code; } codes[] = {
    {"MS_EIO", MS_EIO}, {"MS_ENOMEM", MS_ENOMEM}, {"MS_EFORMAT", MS_EFORMAT},
    {"MS_ETRUNC", MS_ETRUNC}, {"MS_ELIMIT", MS_ELIMIT}, {"MS_EUNSUPP", MS_EUNSUPP},
    {"MS_ENOTFOUND", MS_ENOTFOUND}, {"MS_EINVAL", MS_EINVAL}, {"MS_ESHAPE", MS_ESHAPE},
    {"MS_EUNSAFE", MS_EUNSAFE},
};

static void check_result(const char *how, int rc, int want, const ms_err *err,
                         const ms_array *a, const char *base)
{
    CHECKF(rc == want, "%s: got %d (%s), want %d: %s", how, rc, ms_strerror(rc), want, err->msg);
    CHECKF(rc >= 0 || err->code == rc, "%s: err.code %d != %d", how, err->code, rc);
    CHECK_STR_CONTAINS(err->msg, base);
    CHECK(a->data == NULL && a->ndim == 0);
    CHECK(strchr(err->msg, '\n') == NULL);
    printf("%s: %s\n", how, err->msg);
}

int main(int argc, char **argv)
{
    char path[600];
    int want = 1;
    ms_limits lim = {0};
    ms_array a;
    ms_err err;

    if (argc < 3) {
        fprintf(stderr, "usage: test_bad FILE CODE [LIMIT]\n");
        return 99;
    }
    snprintf(path, sizeof path, "%s/bad/%s", getenv("MS_TEST_DATA"), argv[1]);
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strcmp(codes[i].name, argv[2]) == 0)
            want = codes[i].code;
    if (want > 0) {
        fprintf(stderr, "unknown code %s\n", argv[2]);
        return 99;
    }
    if (argc > 3)
        lim.max_bytes = strtoull(argv[3], NULL, 10);

    size_t n = strlen(argv[1]);
    if (n > 4 && strcmp(argv[1] + n - 4, ".npy") == 0) {
        ms_err_clear(&err);
        int rc = ms_npy_read(path, &a, &lim, &err);
        check_result("ms_npy_read", rc, want, &err, &a, argv[1]);
        size_t len;
        unsigned char *buf = io_test_slurp(path, &len);
        CHECK(buf != NULL);
        ms_err_clear(&err);
        rc = ms_npy_read_mem(buf ? buf : (unsigned char *)"", buf ? len : 0, &a, &lim, argv[1],
                             &err);
        check_result("ms_npy_read_mem", rc, want, &err, &a, argv[1]);
        free(buf);
    } else {
        ms_err_clear(&err);
        int rc = ms_npz_load(path, "a", &a, &lim, &err);
        check_result("ms_npz_load", rc, want, &err, &a, argv[1]);
    }
    TEST_END();
}
