/* Error values and messages of the ms_ libraries (see ms_error.h). */
#include <stdio.h>
#include <string.h>

#include "ms_error.h"

const char *ms_strerror(int code)
{
    switch (code) {
    case MS_OK: return "success";
    case MS_EIO: return "I/O error";
    case MS_ENOMEM: return "out of memory";
    case MS_EFORMAT: return "malformed file";
    case MS_ETRUNC: return "truncated file";
    case MS_ELIMIT: return "size limit exceeded";
    case MS_EUNSUPP: return "unsupported feature";
    case MS_ENOTFOUND: return "not found";
    case MS_EINVAL: return "invalid argument";
    case MS_ESHAPE: return "wrong shape";
    case MS_EUNSAFE: return "refused as unsafe";
    default: return "unknown error";
    }
}

int ms_vseterr(ms_err *err, int code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    if (!fmt) {
        snprintf(err->msg, sizeof err->msg, "%s", ms_strerror(code));
        return code;
    }
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    /* One line: a file name with a newline must not break tool output. */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return code;
}

int ms_seterr(ms_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_vseterr(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void ms_err_clear(ms_err *err)
{
    if (!err)
        return;
    err->code = MS_OK;
    err->msg[0] = '\0';
}
