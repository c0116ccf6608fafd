/* Capture what is written to stderr (fd 2) between capture_begin() and
 * capture_end(): the libraries must stay silent even when nifti_clib, libpng
 * or libjpeg meet a bad file.  capture_end() returns the captured text
 * (static buffer, "" when nothing was written). */
#ifndef IMG_STDERR_H
#define IMG_STDERR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int capture_saved_fd = -1;
static FILE *capture_file;

static void capture_begin(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    if (!capture_file)
        return;
    capture_saved_fd = dup(2);
    dup2(fileno(capture_file), 2);
}

static const char *capture_end(void)
{
    static char text[4096];
    text[0] = '\0';
    if (!capture_file)
        return "(could not capture stderr)";
    fflush(stderr);
    dup2(capture_saved_fd, 2);
    close(capture_saved_fd);
    rewind(capture_file);
    size_t n = fread(text, 1, sizeof text - 1, capture_file);
    text[n] = '\0';
    fclose(capture_file);
    capture_file = NULL;
    return text;
}

#endif
