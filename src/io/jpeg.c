/* JPEG read through libjpeg(-turbo), with its default decoding settings
 * (islow DCT, fancy upsampling): the pixels PIL and skimage give.
 *
 * libjpeg reports fatal errors through error_exit, which must not return: ours
 * longjmps back with the message.  Warnings go through emit_message; all are
 * silenced except "Premature end of JPEG file" (JWRN_JPEG_EOF) while pixels
 * are still being decoded, which libjpeg would otherwise paper over with grey
 * rows: that is a truncated file, an error here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ms_image.h"

#if HAVE_JPEG
#include <jpeglib.h>
#include <jerror.h>

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub;  /* first: libjpeg casts cinfo->err to this */
    jmp_buf jb;
    const char *what;
    int code;                   /* MS_E* to report */
    int finishing;              /* all pixels decoded: a missing EOI is harmless */
    char msg[JMSG_LENGTH_MAX];
    ms_array out;               /* owned until handed to the caller */
} jpeg_ctx;

static int code_of(int msg_code)
{
    switch (msg_code) {
    case JERR_OUT_OF_MEMORY: return MS_ENOMEM;
    case JERR_FILE_READ: return MS_EIO;
    case JERR_INPUT_EOF: case JERR_INPUT_EMPTY: return MS_ETRUNC;
    case JERR_IMAGE_TOO_BIG: case JERR_WIDTH_OVERFLOW: return MS_ELIMIT;
    case JERR_BAD_PRECISION: case JERR_NOT_COMPILED: case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL: return MS_EUNSUPP;
    default: return MS_EFORMAT;
    }
}

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    c->pub.format_message(cinfo, c->msg);
    c->code = code_of(c->pub.msg_code);
    longjmp(c->jb, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level)
{
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    if (level >= 0)
        return;                    /* trace messages */
    c->pub.num_warnings++;
    if (c->pub.msg_code == JWRN_JPEG_EOF && !c->finishing) {
        c->pub.format_message(cinfo, c->msg);
        c->code = MS_ETRUNC;
        longjmp(c->jb, 1);
    }
}

static void on_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Header to pixels; libjpeg errors longjmp out (see read_common). */
static int decode(jpeg_ctx *c, struct jpeg_decompress_struct *ci, ms_image_info *ii,
                  const ms_limits *lim, ms_err *err)
{
    size_t shape[3], nbytes;
    int rc;

    jpeg_read_header(ci, TRUE);
    if (ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK)
        return ms_seterr(err, MS_EUNSUPP, "%s: CMYK JPEG is not supported", c->what);
    jpeg_calc_output_dimensions(ci);
    int ch = ci->out_color_components;
    if (ch != 1 && ch != 3)
        return ms_seterr(err, MS_EUNSUPP, "%s: JPEG with %d colour components", c->what, ch);
    shape[0] = ci->output_height;
    shape[1] = ci->output_width;
    shape[2] = (size_t)ch;
    rc = ms_shape_bytes(MS_U8, ch == 3 ? 3 : 2, shape, lim, &nbytes, c->what, err);
    if (rc < 0)
        return rc;
    rc = ms_array_alloc(&c->out, MS_U8, ch == 3 ? 3 : 2, shape, lim, err);
    if (rc < 0)
        return rc;
    jpeg_start_decompress(ci);
    if (ci->output_width != shape[1] || ci->output_height != shape[0] ||
        ci->output_components != ch)
        return ms_seterr(err, MS_EFORMAT, "%s: JPEG: output size changed while decoding", c->what);
    size_t row = shape[1] * (size_t)ch;
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW r = (JSAMPROW)c->out.data + (size_t)ci->output_scanline * row;
        if (jpeg_read_scanlines(ci, &r, 1) != 1)
            return ms_seterr(err, MS_ETRUNC, "%s: JPEG: no more scanlines", c->what);
    }
    c->finishing = 1;
    jpeg_finish_decompress(ci);
    if (ii) {
        ii->is_palette = 0;
        ii->palette_grey = 0;
        ii->bit_depth = ci->data_precision;
        ii->channels = ch;
    }
    return MS_OK;
}

static int read_common(jpeg_ctx *c, FILE *f, const void *buf, size_t len, ms_array *out,
                       ms_image_info *ii, const ms_limits *lim, ms_err *err)
{
    struct jpeg_decompress_struct ci;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&c->pub);
    c->pub.error_exit = on_error_exit;
    c->pub.emit_message = on_emit_message;
    c->pub.output_message = on_output_message;
    c->code = MS_EFORMAT;
    if (setjmp(c->jb)) {
        rc = ms_seterr(err, c->code, "%s: JPEG: %s", c->what, c->msg);
        goto done;
    }
    jpeg_create_decompress(&ci);
    if (f)
        jpeg_stdio_src(&ci, f);
    else
        jpeg_mem_src(&ci, (const unsigned char *)buf, (unsigned long)len);
    rc = decode(c, &ci, ii, lim, err);
    if (rc == MS_OK) {
        *out = c->out;
        memset(&c->out, 0, sizeof c->out);
    }
done:
    jpeg_destroy_decompress(&ci);
    ms_array_free(&c->out);
    return rc;
}

int ms_jpeg_read_mem(const void *buf, size_t len, ms_array *out, ms_image_info *info,
                     const ms_limits *lim, const char *what, ms_err *err)
{
    jpeg_ctx c;
    memset(&c, 0, sizeof c);
    c.what = what ? what : "JPEG";
    memset(out, 0, sizeof *out);
    if (len == 0)
        return ms_seterr(err, MS_EFORMAT, "%s: empty file, not a JPEG", c.what);
    return read_common(&c, NULL, buf, len, out, info, lim, err);
}

int ms_jpeg_read(const char *path, ms_array *out, ms_image_info *info,
                 const ms_limits *lim, ms_err *err)
{
    jpeg_ctx c;
    memset(&c, 0, sizeof c);
    c.what = path;
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
    int rc = read_common(&c, f, NULL, 0, out, info, lim, err);
    fclose(f);
    return rc;
}

#else /* !HAVE_JPEG */

int ms_jpeg_read_mem(const void *buf, size_t len, ms_array *out, ms_image_info *info,
                     const ms_limits *lim, const char *what, ms_err *err)
{
    memset(out, 0, sizeof *out);
    return ms_seterr(err, MS_EUNSUPP, "%s: built without JPEG support", what ? what : "JPEG");
}

int ms_jpeg_read(const char *path, ms_array *out, ms_image_info *info,
                 const ms_limits *lim, ms_err *err)
{
    memset(out, 0, sizeof *out);
    return ms_seterr(err, MS_EUNSUPP, "%s: built without JPEG support", path);
}

#endif
