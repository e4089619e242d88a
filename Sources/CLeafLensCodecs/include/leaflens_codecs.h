#ifndef LEAFLENS_CODECS_H
#define LEAFLENS_CODECS_H

#include <stddef.h>
#include <stdint.h>

/// Image codec shims around libpng and libjpeg. Both libraries report errors with longjmp, which Swift
/// cannot use, so each function below does one whole decode or encode with its own setjmp inside.
///
/// Every function returns one of the status codes below; on failure `message` (if not NULL) receives a
/// NUL-terminated sentence fragment and every output pointer is left NULL/0. Pixel buffers are allocated
/// with malloc and must be released with `leaflens_codec_free`.

enum {
    LEAFLENS_CODEC_OK = 0,
    /// Malformed, truncated or otherwise undecodable data (including libjpeg warnings).
    LEAFLENS_CODEC_CORRUPT = 1,
    /// The header announces more pixels than `max_pixels`; nothing large was allocated.
    LEAFLENS_CODEC_TOO_LARGE = 2,
    LEAFLENS_CODEC_OUT_OF_MEMORY = 3,
    /// Valid but not supported (e.g. an unknown JPEG colour space).
    LEAFLENS_CODEC_UNSUPPORTED = 4,
    /// Bad arguments from the caller (encode only).
    LEAFLENS_CODEC_INVALID_ARGUMENT = 5
};

/// Decodes a PNG to 8-bit interleaved RGB (HWC), matching PIL's `convert("RGB")`: 16-bit samples keep
/// their high byte, low-bit gray is scaled to 0...255, palettes are expanded, and any alpha channel or
/// tRNS transparency is discarded (not composited). No gamma or colour management is applied.
/// `header_width`/`header_height` (may be NULL) receive the header's size even when the pixel limit
/// refuses the image.
int leaflens_png_decode_rgb8(const uint8_t *data, size_t size, uint64_t max_pixels,
                             uint8_t **pixels, uint32_t *width, uint32_t *height,
                             uint32_t *header_width, uint32_t *header_height,
                             char *message, size_t message_size);

/// Decodes a JPEG (baseline, progressive, grayscale, RGB, CMYK or YCCK) to 8-bit RGB (HWC) with
/// libjpeg's defaults (islow IDCT, fancy upsampling), as PIL does. CMYK/YCCK is read with Adobe's
/// inverted convention and converted as PIL's `convert("RGB")` does: R = (255-K) - round((C·(255-K))/255).
/// Any libjpeg warning (e.g. premature end of data) is an error.
int leaflens_jpeg_decode_rgb8(const uint8_t *data, size_t size, uint64_t max_pixels,
                              uint8_t **pixels, uint32_t *width, uint32_t *height,
                              uint32_t *header_width, uint32_t *header_height,
                              char *message, size_t message_size);

/// Encodes 8-bit interleaved pixels (`channels` = 3 for RGB, 4 for RGBA, rows packed) as PNG in memory.
int leaflens_png_encode_rgb8(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                             uint8_t **png, size_t *png_size, char *message, size_t message_size);

void leaflens_codec_free(void *buffer);

#endif
