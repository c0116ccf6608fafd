/* medsam-tools I/O library: 2D images (PNG through libpng, JPEG through
 * libjpeg-turbo).
 *
 * Results are (H, W) for one channel or (H, W, C) for C = 2, 3, 4 (grey+alpha,
 * RGB, RGBA), dtype u8, or u16 for 16-bit PNG (native endian).  1/2/4-bit grey
 * is expanded to 0..(2^bits - 1) values (NOT scaled to 0..255: a 1-bit mask
 * reads as 0/1).  Palette PNGs: MS_PALETTE_INDEX gives the indices (H, W),
 * MS_PALETTE_RGB gives the colours (H, W, 3) (or RGBA if the palette has tRNS).
 * Width/height are checked against the limits before allocation.
 * JPEG is decoded with libjpeg's defaults (islow DCT, fancy upsampling), as
 * PIL does: grey -> (H, W), colour -> (H, W, 3); a file that ends early is an
 * error, not grey padding.
 */
#ifndef MS_IMAGE_H
#define MS_IMAGE_H

#include "ms_array.h"

typedef enum ms_palette_mode { MS_PALETTE_INDEX = 0, MS_PALETTE_RGB = 1 } ms_palette_mode;

typedef struct ms_image_info {
    int is_palette;     /* the file was palette-indexed */
    int palette_grey;   /* ... and every palette entry has R == G == B (what
                           PIL/skimage convert to greyscale "L") */
    int bit_depth;      /* as stored: 1, 2, 4, 8, 16 (8 for JPEG) */
    int channels;       /* as returned */
} ms_image_info;

/* Dispatch on the file's magic bytes (PNG or JPEG). info may be NULL.
 * Errors: MS_EIO (open/read), MS_EFORMAT (not PNG/JPEG, corrupt data, bad
 * CRC), MS_ETRUNC (file ends early), MS_ELIMIT (dimensions over the limit),
 * MS_EUNSUPP (e.g. CMYK JPEG, or JPEG support not built). */
int ms_image_read(const char *path, ms_array *out, ms_palette_mode pm,
                  ms_image_info *info, const ms_limits *lim, ms_err *err);
int ms_png_read(const char *path, ms_array *out, ms_palette_mode pm,
                ms_image_info *info, const ms_limits *lim, ms_err *err);
int ms_jpeg_read(const char *path, ms_array *out, ms_image_info *info,
                 const ms_limits *lim, ms_err *err);

/* In-memory variants (used by fuzz targets). */
int ms_png_read_mem(const void *buf, size_t len, ms_array *out, ms_palette_mode pm,
                    ms_image_info *info, const ms_limits *lim, const char *what, ms_err *err);
int ms_jpeg_read_mem(const void *buf, size_t len, ms_array *out, ms_image_info *info,
                     const ms_limits *lim, const char *what, ms_err *err);

/* Write an 8-bit PNG: a is (H, W) grey, (H, W, 2) grey+alpha, (H, W, 3) RGB or
 * (H, W, 4) RGBA, dtype u8 (or b1).  Atomic (temp + rename). */
int ms_png_write(const char *path, const ms_array *a, ms_err *err);

#endif
