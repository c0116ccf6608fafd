/* Internals of the npz writer (not part of the public API). */
#ifndef MS_NPZ_PRIV_H
#define MS_NPZ_PRIV_H

#include "ms_npz.h"

/* ms_npz_write with zip64 records forced on every member (as if every size
 * and offset were >= 4 GiB), so the tests can check them without writing
 * 4 GiB. */
int ms__npz_write_flags(const char *path, const ms_npz_entry *entries, int n, int level,
                        int force_zip64, ms_err *err);

#endif
