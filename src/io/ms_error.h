/* medsam-tools I/O library: error convention.
 *
 * Every function of the ms_ libraries returns 0 (MS_OK) or a negative MS_E*
 * code.  When the caller passes a non-NULL ms_err, the failing function also
 * writes a one-line message into it that names the file (or object) and says
 * what was wrong, e.g. "scan.npz: member 'imgs.npy': shape (4, -1) is negative".
 * The libraries never print and never exit; tools print err.msg.
 */
#ifndef MS_ERROR_H
#define MS_ERROR_H

#include <stdarg.h>

enum {
    MS_OK = 0,
    MS_EIO = -1,          /* open/read/write/rename failed (errno in message) */
    MS_ENOMEM = -2,       /* allocation failed */
    MS_EFORMAT = -3,      /* malformed file: bad magic, bad header, bad field */
    MS_ETRUNC = -4,       /* file shorter than its headers say */
    MS_ELIMIT = -5,       /* a declared size exceeds the caller's limit */
    MS_EUNSUPP = -6,      /* well-formed but unsupported (dtype, layout, ...) */
    MS_ENOTFOUND = -7,    /* missing member / key / file */
    MS_EINVAL = -8,       /* bad argument from the caller (or bad values, e.g. NaN box) */
    MS_ESHAPE = -9,       /* arrays of the wrong rank or mismatched shapes */
    MS_EUNSAFE = -10,     /* refused for safety (pickle code, output over an input) */
};

#define MS_ERR_MSG_MAX 512

typedef struct ms_err {
    int code;
    char msg[MS_ERR_MSG_MAX];
} ms_err;

/* Static, never NULL: "I/O error", "malformed file", ... */
const char *ms_strerror(int code);

/* Record an error: sets err->code and formats err->msg (if err != NULL).
 * Returns code so callers can write `return ms_seterr(err, MS_EFORMAT, ...)`. */
int ms_seterr(ms_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int ms_vseterr(ms_err *err, int code, const char *fmt, va_list ap);

/* Reset err to MS_OK and an empty message. */
void ms_err_clear(ms_err *err);

#endif
