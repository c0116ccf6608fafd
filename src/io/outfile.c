/* Atomic output files: write a hidden temp file next to the destination,
 * fsync it, rename it over the destination, fsync the folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ms_outfile.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* "<dir>/.<base><suffix>.XXXXXX" for path "<dir>/<base>". */
static char *temp_template(const char *path, const char *suffix)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dlen;
    size_t n = dlen + 1 + strlen(base) + strlen(suffix) + 8;
    char *t = malloc(n);
    if (!t)
        return NULL;
    snprintf(t, n, "%.*s.%s%s.XXXXXX", (int)dlen, path, base, suffix);
    return t;
}

static void fsync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse it on folders */
        close(fd);
    }
}

/* Create the temp file; returns its fd or -1 with errno. Mode as a plain
 * open() with umask would give (mkstemp uses 0600). */
static int make_temp(char *tmpl)
{
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return -1;
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    return fd;
}

static int reserve_common(ms_outfile *o, const char *path, const char *suffix,
                          int keep_open, ms_err *err)
{
    int fd = -1, e;

    memset(o, 0, sizeof *o);
    if (!path || !*path || path[strlen(path) - 1] == '/')
        return ms_seterr(err, MS_EINVAL, "%s: not a file name", path ? path : "(null)");
    o->final_path = dup_str(path);
    o->tmp_path = temp_template(path, suffix ? suffix : "");
    if (!o->final_path || !o->tmp_path) {
        e = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    fd = make_temp(o->tmp_path);
    if (fd < 0) {
        e = ms_seterr(err, MS_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
        goto fail;
    }
    if (keep_open) {
        o->f = fdopen(fd, "wb");
        if (!o->f) {
            e = ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
            close(fd);
            unlink(o->tmp_path);
            goto fail;
        }
    } else {
        close(fd);
    }
    return MS_OK;
fail:
    free(o->final_path);
    free(o->tmp_path);
    memset(o, 0, sizeof *o);
    return e;
}

int ms_outfile_open(ms_outfile *o, const char *path, ms_err *err)
{
    return reserve_common(o, path, "", 1, err);
}

int ms_outfile_reserve(ms_outfile *o, const char *path, const char *suffix, ms_err *err)
{
    return reserve_common(o, path, suffix, 0, err);
}

int ms_outfile_commit(ms_outfile *o, ms_err *err)
{
    int rc = MS_OK;

    if (!o->tmp_path || !o->final_path)
        return ms_seterr(err, MS_EINVAL, "outfile: commit without open");
    if (o->f) {
        int bad = fflush(o->f) != 0 || ferror(o->f);
        int e1 = errno;
        if (!bad && fsync(fileno(o->f)) != 0 && errno != EINVAL && errno != EROFS)
            bad = 1, e1 = errno;
        if (fclose(o->f) != 0 && !bad)
            bad = 1, e1 = errno;
        o->f = NULL;
        if (bad) {
            rc = ms_seterr(err, MS_EIO, "%s: write failed: %s", o->final_path, strerror(e1));
            goto fail;
        }
    } else {
        /* Reserved path written by another library: fsync it by name. */
        int fd = open(o->tmp_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = ms_seterr(err, MS_EIO, "%s: temporary file vanished: %s", o->final_path,
                           strerror(errno));
            goto fail;
        }
        fsync(fd);
        close(fd);
    }
    if (rename(o->tmp_path, o->final_path) != 0) {
        rc = ms_seterr(err, MS_EIO, "%s: cannot rename temporary file: %s", o->final_path,
                       strerror(errno));
        goto fail;
    }
    fsync_dir_of(o->final_path);
    free(o->tmp_path);
    free(o->final_path);
    memset(o, 0, sizeof *o);
    return MS_OK;
fail:
    ms_outfile_abort(o);
    return rc;
}

void ms_outfile_abort(ms_outfile *o)
{
    if (!o)
        return;
    if (o->f)
        fclose(o->f);
    if (o->tmp_path)
        unlink(o->tmp_path);
    free(o->tmp_path);
    free(o->final_path);
    memset(o, 0, sizeof *o);
}

int ms_outfile_check_not_input(const char *out, const char *in, ms_err *err)
{
    struct stat so, si;

    if (stat(out, &so) != 0 || stat(in, &si) != 0)
        return MS_OK; /* output does not exist yet (or input is gone): nothing to clobber */
    if (so.st_dev == si.st_dev && so.st_ino == si.st_ino)
        return ms_seterr(err, MS_EUNSAFE, "%s: output is the input file %s, refusing to overwrite",
                         out, in);
    return MS_OK;
}

int ms_mkdirs(const char *dir, ms_err *err)
{
    char buf[PATH_MAX];
    size_t n;
    struct stat st;

    if (!dir || !*dir)
        return ms_seterr(err, MS_EINVAL, "mkdir: empty folder name");
    n = strlen(dir);
    if (n >= sizeof buf)
        return ms_seterr(err, MS_EINVAL, "%s: path too long", dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return ms_seterr(err, MS_EIO, "%s: cannot create folder: %s", buf, strerror(errno));
        buf[i] = c;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ms_seterr(err, MS_EIO, "%s: not a folder", dir);
    return MS_OK;
}
