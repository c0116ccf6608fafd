/* Atomic output files, mkdir -p and the "never write over an input" check. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ms_outfile.h"
#include "ms_test.h"
#include "io_test_util.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

int main(void)
{
    char dir[256], p[600], q[600];
    ms_outfile o;
    ms_err err;
    size_t len;

    io_test_tmpdir(dir, sizeof dir);

    /* commit: the final name appears only at commit, no temp file remains */
    snprintf(p, sizeof p, "%s/out.txt", dir);
    CHECKF(ms_outfile_open(&o, p, &err) == MS_OK, "%s", err.msg);
    fputs("hello", o.f);
    fflush(o.f);
    struct stat st;
    CHECK(stat(p, &st) != 0);            /* not yet visible */
    CHECK(stat(o.tmp_path, &st) == 0);
    CHECK(strncmp(o.tmp_path, dir, strlen(dir)) == 0);
    CHECKF(ms_outfile_commit(&o, &err) == MS_OK, "%s", err.msg);
    unsigned char *b = io_test_slurp(p, &len);
    CHECK(b && len == 5 && memcmp(b, "hello", 5) == 0);
    free(b);
    CHECK_EQ_INT(count_entries(dir), 1);
    CHECK(o.f == NULL && o.tmp_path == NULL && o.final_path == NULL);

    /* abort keeps the old content and removes the temp file */
    CHECKF(ms_outfile_open(&o, p, &err) == MS_OK, "%s", err.msg);
    fputs("partial", o.f);
    ms_outfile_abort(&o);
    b = io_test_slurp(p, &len);
    CHECK(b && len == 5 && memcmp(b, "hello", 5) == 0);
    free(b);
    CHECK_EQ_INT(count_entries(dir), 1);

    /* reserve: a path for another library to write, renamed at commit */
    snprintf(q, sizeof q, "%s/res.bin", dir);
    CHECKF(ms_outfile_reserve(&o, q, ".tmp", &err) == MS_OK, "%s", err.msg);
    CHECK(o.f == NULL && o.tmp_path != NULL);
    write_file(o.tmp_path, "xyz");
    CHECKF(ms_outfile_commit(&o, &err) == MS_OK, "%s", err.msg);
    b = io_test_slurp(q, &len);
    CHECK(b && len == 3);
    free(b);
    CHECK_EQ_INT(count_entries(dir), 2);

    /* an output folder that does not exist: MS_EIO naming the file */
    snprintf(q, sizeof q, "%s/no/such/x.npy", dir);
    CHECK_EQ_INT(ms_outfile_open(&o, q, &err), MS_EIO);
    CHECK_STR_CONTAINS(err.msg, "x.npy");
    CHECK_EQ_INT(ms_outfile_open(&o, "", &err), MS_EINVAL);

    /* mkdirs: nested, idempotent, refuses a file in the way */
    snprintf(q, sizeof q, "%s/a/b/c/", dir);
    CHECKF(ms_mkdirs(q, &err) == MS_OK, "%s", err.msg);
    CHECKF(ms_mkdirs(q, &err) == MS_OK, "%s", err.msg);
    snprintf(q, sizeof q, "%s/a/b/c", dir);
    CHECK(stat(q, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(q, sizeof q, "%s/out.txt/sub", dir);
    CHECK(ms_mkdirs(q, &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "out.txt");

    /* never write over an input: same file, a hard link, a path via ".." */
    CHECK_EQ_INT(ms_outfile_check_not_input(p, p, &err), MS_EUNSAFE);
    CHECK_STR_CONTAINS(err.msg, "out.txt");
    snprintf(q, sizeof q, "%s/a/../out.txt", dir);
    CHECK_EQ_INT(ms_outfile_check_not_input(q, p, &err), MS_EUNSAFE);
    snprintf(q, sizeof q, "%s/link.txt", dir);
    CHECK(link(p, q) == 0);
    CHECK_EQ_INT(ms_outfile_check_not_input(q, p, &err), MS_EUNSAFE);
    snprintf(q, sizeof q, "%s/res.bin", dir);
    CHECK_EQ_INT(ms_outfile_check_not_input(q, p, &err), MS_OK);
    snprintf(q, sizeof q, "%s/new.txt", dir);
    CHECK_EQ_INT(ms_outfile_check_not_input(q, p, &err), MS_OK);

    io_test_rmtree(dir);
    TEST_END();
}
