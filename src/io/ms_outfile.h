/* medsam-tools I/O library: atomic output files.
 *
 * ms_outfile_open() creates "<dir>/.<base>.XXXXXX" next to the destination;
 * ms_outfile_commit() flushes, fsyncs and renames it over the destination;
 * ms_outfile_abort() removes it.  Killing a process at any moment therefore
 * leaves either the old file or the complete new one, never a partial file
 * under the final name.
 */
#ifndef MS_OUTFILE_H
#define MS_OUTFILE_H

#include <stdio.h>
#include "ms_error.h"

typedef struct ms_outfile {
    FILE *f;            /* write here */
    char *tmp_path;     /* owned */
    char *final_path;   /* owned */
} ms_outfile;

int ms_outfile_open(ms_outfile *o, const char *path, ms_err *err);
int ms_outfile_commit(ms_outfile *o, ms_err *err);   /* closes; frees paths */
void ms_outfile_abort(ms_outfile *o);                 /* closes; unlinks; frees */

/* Temp path only (for writers that need a path, e.g. libzip, nifti_clib):
 * fills o->tmp_path / o->final_path, o->f = NULL. Commit renames. */
int ms_outfile_reserve(ms_outfile *o, const char *path, const char *suffix, ms_err *err);

/* Refuse to write `out` if it names the same file as `in` (same device+inode,
 * or same realpath). Returns MS_EUNSAFE with a message. */
int ms_outfile_check_not_input(const char *out, const char *in, ms_err *err);

/* mkdir -p. */
int ms_mkdirs(const char *dir, ms_err *err);

#endif
