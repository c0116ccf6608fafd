/* Helpers for the io tests: a scratch folder and file slurping. */
#ifndef IO_TEST_UTIL_H
#define IO_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh folder under $TMPDIR (or /tmp); exits the test on failure. */
static inline void io_test_tmpdir(char *dir, size_t cap)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, cap, "%s/ms-io-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(99);
    }
}

static inline void io_test_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* Whole file into a malloc'ed buffer; NULL if unreadable. */
static inline unsigned char *io_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* $MS_TEST_DATA/<rel> */
static inline void io_test_data(char *out, size_t cap, const char *rel)
{
    const char *d = getenv("MS_TEST_DATA");
    snprintf(out, cap, "%s/%s", d ? d : "tests/data", rel);
}

#include <stdint.h>
#include "ms_array.h"

/* Element i of the reference arrays (gen_npy_refs.py `values`), stored at out. */
static inline void io_test_value(ms_dtype t, size_t i, void *out)
{
    int64_t k = (int64_t)i;
    switch (t) {
    case MS_BOOL: *(uint8_t *)out = k % 3 == 0; break;
    case MS_I8: *(int8_t *)out = (int8_t)(k * 5 - 60); break;
    case MS_U8: *(uint8_t *)out = (uint8_t)(k * 10); break;
    case MS_I16: *(int16_t *)out = (int16_t)(k * 1000 - 12000); break;
    case MS_U16: *(uint16_t *)out = (uint16_t)(k * 2000 + 1); break;
    case MS_I32: *(int32_t *)out = (int32_t)(k * 100000007 - 1200000000); break;
    case MS_U32: *(uint32_t *)out = (uint32_t)((uint64_t)k * 150000000u + 7u); break;
    case MS_I64: *(int64_t *)out = (k - 12) * INT64_C(1000000000007); break;
    case MS_U64: *(uint64_t *)out = (uint64_t)k * UINT64_C(700000000000000007); break;
    case MS_F32: *(float *)out = (float)(k - 12) / 4.0f; break;
    case MS_F64: *(double *)out = (double)(k - 12) / 3.0; break;
    default: break;
    }
}

/* Fill a (C order) with io_test_value. */
static inline void io_test_fill(ms_array *a)
{
    size_t n = ms_array_nelem(a), isz = ms_dtype_size(a->dtype);
    for (size_t i = 0; i < n; i++)
        io_test_value(a->dtype, i, (unsigned char *)a->data + i * isz);
}

/* 1 if a holds io_test_value in C order. */
static inline int io_test_check_values(const ms_array *a)
{
    size_t n = ms_array_nelem(a), isz = ms_dtype_size(a->dtype);
    unsigned char v[8];
    for (size_t i = 0; i < n; i++) {
        io_test_value(a->dtype, i, v);
        if (memcmp(v, (const unsigned char *)a->data + i * isz, isz) != 0)
            return 0;
    }
    return 1;
}

/* "u1" -> MS_U8; -1 if unknown. */
static inline int io_test_dtype(const char *name)
{
    for (int t = 0; t < MS_DTYPE_COUNT; t++)
        if (strcmp(ms_dtype_name((ms_dtype)t), name) == 0)
            return t;
    return -1;
}

#endif
