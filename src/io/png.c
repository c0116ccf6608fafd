/* PNG read and write through libpng.
 *
 * libpng reports errors by calling an error function that must not return;
 * ours formats the message into the context and longjmps back to the reader,
 * which turns it into an ms_err.  Warnings are dropped (libpng would print
 * them).  Width and height are checked against the caller's byte limit right
 * after IHDR, before any image memory is allocated.
 */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_image.h"
#include "ms_outfile.h"

typedef struct png_ctx {
    const char *what;        /* file name for messages */
    int code;                /* MS_E* to report if libpng fails */
    char msg[256];           /* libpng's message */
    FILE *f;                 /* source: a stream ... */
    const unsigned char *buf; /* ... or a memory buffer */
    size_t len, pos;
    png_bytep *rows;         /* owned */
    ms_array out;            /* owned until handed to the caller */
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "error");
    if (c->code == MS_EFORMAT && strstr(c->msg, "exceeds user limit"))
        c->code = MS_ELIMIT;
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void read_fn(png_structp png, png_bytep data, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (c->f) {
        size_t got = fread(data, 1, n, c->f);
        if (got == n)
            return;
        c->code = ferror(c->f) ? MS_EIO : MS_ETRUNC;
    } else {
        if (n <= c->len - c->pos) {
            memcpy(data, c->buf + c->pos, n);
            c->pos += n;
            return;
        }
        c->code = MS_ETRUNC;
    }
    png_error(png, c->code == MS_EIO ? "read error" : "file truncated");
}

/* Transformations for the requested output; returns the pixel dtype. */
static ms_dtype set_transforms(png_structp png, png_infop info, ms_palette_mode pm)
{
    int ct = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);

    if (depth < 8)
        png_set_packing(png);          /* one sample per byte, values kept (0/1 for 1-bit) */
    if (ct == PNG_COLOR_TYPE_PALETTE && pm == MS_PALETTE_RGB)
        png_set_palette_to_rgb(png);   /* RGB, or RGBA if the palette has tRNS */
    if (depth == 16) {
        const uint16_t one = 1;
        if (*(const unsigned char *)&one == 1)
            png_set_swap(png);         /* PNG is big-endian; we return native */
        return MS_U16;
    }
    return MS_U8;
}

static int palette_is_grey(png_structp png, png_infop info)
{
    png_colorp pal;
    int n = 0;
    if (!png_get_PLTE(png, info, &pal, &n))
        return 0;
    for (int i = 0; i < n; i++)
        if (pal[i].red != pal[i].green || pal[i].green != pal[i].blue)
            return 0;
    return 1;
}

/* The body of the reader, after png/info are created and the source is set;
 * any libpng error longjmps out of here (see read_common). */
static int decode(png_ctx *c, png_structp png, png_infop info, ms_palette_mode pm,
                  ms_image_info *ii, const ms_limits *lim, ms_err *err)
{
    png_uint_32 w, h;
    size_t shape[3], nbytes;
    int rc;

    png_read_info(png, info);
    w = png_get_image_width(png, info);
    h = png_get_image_height(png, info);
    int ct = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    ms_dtype t = set_transforms(png, info, pm);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int ch = png_get_channels(png, info);
    shape[0] = h;
    shape[1] = w;
    shape[2] = (size_t)ch;
    rc = ms_shape_bytes(t, ch > 1 ? 3 : 2, shape, lim, &nbytes, c->what, err);
    if (rc < 0)
        return rc;
    size_t row = (size_t)w * (size_t)ch * ms_dtype_size(t);
    if (png_get_rowbytes(png, info) != row)
        return ms_seterr(err, MS_EFORMAT, "%s: PNG: unexpected row size", c->what);
    rc = ms_array_alloc(&c->out, t, ch > 1 ? 3 : 2, shape, lim, err);
    if (rc < 0)
        return rc;
    c->rows = malloc((size_t)h * sizeof *c->rows);
    if (!c->rows)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", c->what);
    for (png_uint_32 y = 0; y < h; y++)
        c->rows[y] = (png_bytep)c->out.data + (size_t)y * row;
    png_read_image(png, c->rows);
    png_read_end(png, NULL);
    if (ii) {
        ii->is_palette = ct == PNG_COLOR_TYPE_PALETTE;
        ii->palette_grey = ii->is_palette && palette_is_grey(png, info);
        ii->bit_depth = depth;
        ii->channels = ch;
    }
    return MS_OK;
}

static int read_common(png_ctx *c, ms_array *out, ms_palette_mode pm, ms_image_info *ii,
                       const ms_limits *lim, ms_err *err)
{
    png_structp png = NULL;
    png_infop info = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    c->code = MS_EFORMAT;
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    if (png)
        info = png_create_info_struct(png);
    if (!png || !info) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", c->what);
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = ms_seterr(err, c->code, "%s: PNG: %s", c->what, c->msg);
        goto done;
    }
    /* libpng's own ceilings; the byte limit is checked after IHDR. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(png, 64u << 20);
    png_set_read_fn(png, c, read_fn);
    rc = decode(c, png, info, pm, ii, lim, err);
    if (rc == MS_OK) {
        *out = c->out;
        memset(&c->out, 0, sizeof c->out);
    }
done:
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    free(c->rows);
    c->rows = NULL;
    ms_array_free(&c->out);
    return rc;
}

/* The 8-byte signature first, so that "not a PNG" gets a clear message. */
static int check_sig(const unsigned char *sig, size_t n, const char *what, ms_err *err)
{
    if (n < 8)
        return ms_seterr(err, n == 0 ? MS_EFORMAT : MS_ETRUNC, "%s: %s", what,
                         n == 0 ? "empty file, not a PNG" : "file too short for a PNG");
    if (png_sig_cmp(sig, 0, 8))
        return ms_seterr(err, MS_EFORMAT, "%s: not a PNG file (bad signature)", what);
    return MS_OK;
}

int ms_png_read_mem(const void *buf, size_t len, ms_array *out, ms_palette_mode pm,
                    ms_image_info *info, const ms_limits *lim, const char *what, ms_err *err)
{
    png_ctx c;
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    c.what = what ? what : "PNG";
    int rc = check_sig(buf, len, c.what, err);
    if (rc < 0)
        return rc;
    c.buf = buf;
    c.len = len;
    return read_common(&c, out, pm, info, lim, err);
}

int ms_png_read(const char *path, ms_array *out, ms_palette_mode pm, ms_image_info *info,
                const ms_limits *lim, ms_err *err)
{
    png_ctx c;
    unsigned char sig[8];
    int rc;

    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    c.what = path;
    c.f = fopen(path, "rb");
    if (!c.f)
        return ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
    size_t n = fread(sig, 1, 8, c.f);
    rc = check_sig(sig, n, path, err);
    if (rc == MS_OK) {
        rewind(c.f);
        rc = read_common(&c, out, pm, info, lim, err);
    }
    fclose(c.f);
    return rc;
}

/* ------------------------------------------------------------ writer */

typedef struct png_wctx {
    const char *what;
    char msg[256];
} png_wctx;

static void on_write_error(png_structp png, png_const_charp msg)
{
    png_wctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "error");
    png_longjmp(png, 1);
}

static int check_write(const char *path, const ms_array *a, int *ct, ms_err *err)
{
    static const int types[5] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                  PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
    if (a->dtype != MS_U8 && a->dtype != MS_BOOL)
        return ms_seterr(err, MS_EUNSUPP, "%s: PNG writer takes uint8 arrays, not %s", path,
                         ms_dtype_name(a->dtype) ? ms_dtype_name(a->dtype) : "?");
    size_t c = a->ndim == 2 ? 1 : a->ndim == 3 ? a->shape[2] : 0;
    if (c < 1 || c > 4)
        return ms_seterr(err, MS_ESHAPE, "%s: PNG needs (H, W) or (H, W, C) with C = 2, 3 or 4", path);
    if (a->shape[0] < 1 || a->shape[1] < 1 || a->shape[0] > PNG_UINT_31_MAX ||
        a->shape[1] > PNG_UINT_31_MAX / 8)
        return ms_seterr(err, MS_ESHAPE, "%s: %zu x %zu image cannot be a PNG", path,
                         a->shape[0], a->shape[1]);
    *ct = types[c];
    return MS_OK;
}

/* libpng writes to f; every local is set before setjmp and never changed. */
static int write_stream(FILE *f, const ms_array *a, int ct, const char *path, ms_err *err)
{
    png_structp png = NULL;
    png_infop info = NULL;
    png_wctx c = { path, "" };
    volatile int rc = MS_OK;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_write_error, on_warning);
    if (png)
        info = png_create_info_struct(png);
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = ms_seterr(err, MS_EIO, "%s: PNG: %s", path, c.msg);
        goto done;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)a->shape[1], (png_uint_32)a->shape[0], 8, ct,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t row = a->shape[1] * (a->ndim == 3 ? a->shape[2] : 1);
    for (size_t y = 0; y < a->shape[0]; y++)
        png_write_row(png, (png_const_bytep)a->data + y * row);
    png_write_end(png, NULL);
done:
    png_destroy_write_struct(&png, &info);
    return rc;
}

int ms_png_write(const char *path, const ms_array *a, ms_err *err)
{
    ms_outfile of;
    int ct = 0, rc;

    rc = check_write(path, a, &ct, err);
    if (rc < 0)
        return rc;
    rc = ms_outfile_open(&of, path, err);
    if (rc < 0)
        return rc;
    rc = write_stream(of.f, a, ct, path, err);
    if (rc < 0) {
        ms_outfile_abort(&of);
        return rc;
    }
    return ms_outfile_commit(&of, err);
}
