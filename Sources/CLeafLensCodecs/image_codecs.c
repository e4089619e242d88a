// PNG and JPEG decoding/encoding with error handling Swift can live with.
//
// libpng and libjpeg signal fatal errors by longjmp (libjpeg's default even calls exit(1)). Swift cannot
// call setjmp, so each public function here performs one complete decode or encode with setjmp inside
// and turns every error into a status code plus a message. Locals that change between setjmp and a
// possible longjmp are volatile, as C requires for their values to survive the jump.
#include "leaflens_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

void leaflens_codec_free(void *buffer) { free(buffer); }

static void set_message(char *message, size_t message_size, const char *text) {
    if (message == NULL || message_size == 0) return;
    snprintf(message, message_size, "%s", text);
}

static int too_large(uint64_t width, uint64_t height, uint64_t max_pixels, char *message, size_t message_size) {
    if (width == 0 || height == 0) {
        set_message(message, message_size, "the header announces an empty image");
        return LEAFLENS_CODEC_CORRUPT;
    }
    if (width * height > max_pixels) {  // width, height < 2^32 each: the product cannot overflow 64 bits
        if (message != NULL && message_size > 0)
            snprintf(message, message_size, "%llux%llu = %llu pixels exceeds the limit of %llu pixels",
                     (unsigned long long)width, (unsigned long long)height,
                     (unsigned long long)(width * height), (unsigned long long)max_pixels);
        return LEAFLENS_CODEC_TOO_LARGE;
    }
    return LEAFLENS_CODEC_OK;
}

// ---------------------------------------------------------------------------------------------------
// PNG (libpng classic API: the simplified API would apply gamma to 16-bit data and composite alpha)

typedef struct {
    jmp_buf jump;
    const uint8_t *data;
    size_t size;
    size_t offset;
    char message[200];
} png_read_context;

static void png_fail(png_structp png, png_const_charp text) {
    png_read_context *context = (png_read_context *)png_get_error_ptr(png);
    snprintf(context->message, sizeof context->message, "%s", text);
    longjmp(context->jump, 1);
}

// Warnings (e.g. an unusual iCCP profile, a bad CRC in an ancillary chunk) do not affect the pixels;
// truncation and critical-chunk damage arrive as errors.
static void png_ignore_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_read_from_memory(png_structp png, png_bytep out, png_size_t count) {
    png_read_context *context = (png_read_context *)png_get_io_ptr(png);
    if (count > context->size - context->offset) png_error(png, "file is truncated (unexpected end of data)");
    memcpy(out, context->data + context->offset, count);
    context->offset += count;
}

int leaflens_png_decode_rgb8(const uint8_t *data, size_t size, uint64_t max_pixels,
                             uint8_t **pixels, uint32_t *width, uint32_t *height,
                             uint32_t *header_width, uint32_t *header_height,
                             char *message, size_t message_size) {
    *pixels = NULL;
    *width = 0;
    *height = 0;
    if (header_width) *header_width = 0;
    if (header_height) *header_height = 0;

    // The size sits at a fixed place (IHDR must be the first chunk), so the pixel limit is checked before
    // libpng reads anything: even a file that is nothing but a bomb's header is refused as too large.
    if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        const uint32_t w = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 | data[19];
        const uint32_t h = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 | data[23];
        if (w > 0 && h > 0 && (uint64_t)w * h > max_pixels) {
            if (header_width) *header_width = w;
            if (header_height) *header_height = h;
            return too_large(w, h, max_pixels, message, message_size);
        }
    }

    png_read_context context;
    memset(&context, 0, sizeof context);
    context.data = data;
    context.size = size;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, png_fail, png_ignore_warning);
    if (png == NULL) {
        set_message(message, message_size, "out of memory creating the PNG reader");
        return LEAFLENS_CODEC_OUT_OF_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_message(message, message_size, "out of memory creating the PNG reader");
        return LEAFLENS_CODEC_OUT_OF_MEMORY;
    }

    uint8_t *volatile raw = NULL;
    png_bytep *volatile rows = NULL;
    uint8_t *volatile rgb = NULL;
    volatile int status = LEAFLENS_CODEC_CORRUPT;

    if (setjmp(context.jump)) {
        free(raw);
        free(rows);
        free(rgb);
        png_destroy_read_struct(&png, &info, NULL);
        if (status == LEAFLENS_CODEC_CORRUPT) set_message(message, message_size, context.message);
        return status;
    }
    png_set_read_fn(png, &context, png_read_from_memory);
    png_read_info(png, info);

    const png_uint_32 w = png_get_image_width(png, info);
    const png_uint_32 h = png_get_image_height(png, info);
    if (header_width) *header_width = w;
    if (header_height) *header_height = h;
    int limit = too_large(w, h, max_pixels, context.message, sizeof context.message);
    if (limit != LEAFLENS_CODEC_OK) {
        status = limit;
        set_message(message, message_size, context.message);
        longjmp(context.jump, 1);
    }

    // After these transforms every row holds 8-bit samples: 1 (gray), 2 (gray+alpha), 3 (RGB) or
    // 4 (RGBA, also from palette/RGB with tRNS) channels. Alpha is dropped below, never composited.
    png_set_expand(png);     // palette -> RGB(A), gray 1/2/4-bit -> 8-bit scaled, tRNS -> alpha
    png_set_strip_16(png);   // 16-bit -> high byte (what PIL's "RGB;16B" unpacking keeps)
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    const int channels = png_get_channels(png, info);
    const size_t row_bytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || channels < 1 || channels > 4 || row_bytes != (size_t)w * channels) {
        snprintf(context.message, sizeof context.message, "unexpected PNG layout after expansion (%d channels)", channels);
        longjmp(context.jump, 1);
    }
    raw = malloc(row_bytes * h);
    rows = malloc(sizeof(png_bytep) * h);
    rgb = malloc((size_t)w * h * 3);
    if (raw == NULL || rows == NULL || rgb == NULL) {
        status = LEAFLENS_CODEC_OUT_OF_MEMORY;
        set_message(message, message_size, "out of memory for the decoded PNG");
        longjmp(context.jump, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = raw + (size_t)y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);  // checks the rest of the file up to IEND: a cut-off file is an error

    const size_t count = (size_t)w * h;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *in = raw + i * channels;
        uint8_t *out = rgb + i * 3;
        if (channels >= 3) {
            out[0] = in[0];
            out[1] = in[1];
            out[2] = in[2];
        } else {
            out[0] = out[1] = out[2] = in[0];
        }
    }
    free(raw);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    *pixels = rgb;
    *width = w;
    *height = h;
    return LEAFLENS_CODEC_OK;
}

// ---------------------------------------------------------------------------------------------------
// PNG encoding (libpng simplified API: errors come back in image.message, no longjmp needed)

int leaflens_png_encode_rgb8(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                             uint8_t **png, size_t *png_size, char *message, size_t message_size) {
    *png = NULL;
    *png_size = 0;
    if ((channels != 3 && channels != 4) || width == 0 || height == 0 || pixels == NULL) {
        set_message(message, message_size, "PNG encoding needs a non-empty RGB or RGBA image");
        return LEAFLENS_CODEC_INVALID_ARGUMENT;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = channels == 4 ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;

    png_alloc_size_t needed = 0;
    if (!png_image_write_to_memory(&image, NULL, &needed, 0, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        return LEAFLENS_CODEC_INVALID_ARGUMENT;
    }
    uint8_t *buffer = malloc(needed);
    if (buffer == NULL) {
        set_message(message, message_size, "out of memory for the encoded PNG");
        return LEAFLENS_CODEC_OUT_OF_MEMORY;
    }
    png_alloc_size_t written = needed;
    if (!png_image_write_to_memory(&image, buffer, &written, 0, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        free(buffer);
        return LEAFLENS_CODEC_INVALID_ARGUMENT;
    }
    *png = buffer;
    *png_size = written;
    return LEAFLENS_CODEC_OK;
}

// ---------------------------------------------------------------------------------------------------
// JPEG (libjpeg: error_exit and warnings longjmp back here)

typedef struct {
    struct jpeg_error_mgr manager;  // first member: libjpeg hands us a pointer to it
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_error_context;

static void jpeg_fail(j_common_ptr info) {
    jpeg_error_context *context = (jpeg_error_context *)info->err;
    (*info->err->format_message)(info, context->message);
    longjmp(context->jump, 1);
}

// msg_level -1 is a warning: corrupt data that libjpeg would paper over (a truncated file is padded with
// grey after "Premature end of JPEG file"). Such output is never returned. Levels >= 0 are traces.
static void jpeg_message(j_common_ptr info, int msg_level) {
    if (msg_level < 0) jpeg_fail(info);
}

static void jpeg_silent(j_common_ptr info) { (void)info; }

static inline uint8_t muldiv255(unsigned a, unsigned b) {
    // round(a*b/255) for a, b in 0...255, exactly as an integer formula
    unsigned t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

int leaflens_jpeg_decode_rgb8(const uint8_t *data, size_t size, uint64_t max_pixels,
                              uint8_t **pixels, uint32_t *width, uint32_t *height,
                              uint32_t *header_width, uint32_t *header_height,
                              char *message, size_t message_size) {
    *pixels = NULL;
    *width = 0;
    *height = 0;
    if (header_width) *header_width = 0;
    if (header_height) *header_height = 0;

    struct jpeg_decompress_struct info;
    jpeg_error_context errors;
    memset(&info, 0, sizeof info);
    memset(&errors, 0, sizeof errors);
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = jpeg_fail;
    errors.manager.emit_message = jpeg_message;
    errors.manager.output_message = jpeg_silent;

    uint8_t *volatile rgb = NULL;
    uint8_t *volatile row = NULL;
    volatile int created = 0;
    volatile int status = LEAFLENS_CODEC_CORRUPT;

    if (setjmp(errors.jump)) {
        if (created) jpeg_destroy_decompress(&info);
        free(rgb);
        free(row);
        if (status == LEAFLENS_CODEC_CORRUPT) set_message(message, message_size, errors.message);
        return status;
    }
    jpeg_CreateDecompress(&info, JPEG_LIB_VERSION, sizeof info);
    created = 1;
    if (size > (size_t)(unsigned long)-1) {
        snprintf(errors.message, sizeof errors.message, "file too large");
        longjmp(errors.jump, 1);
    }
    jpeg_mem_src(&info, data, (unsigned long)size);
    if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) {
        snprintf(errors.message, sizeof errors.message, "no image in the JPEG stream");
        longjmp(errors.jump, 1);
    }
    if (header_width) *header_width = info.image_width;
    if (header_height) *header_height = info.image_height;
    int limit = too_large(info.image_width, info.image_height, max_pixels, errors.message, sizeof errors.message);
    if (limit != LEAFLENS_CODEC_OK) {
        status = limit;
        set_message(message, message_size, errors.message);
        longjmp(errors.jump, 1);
    }

    int cmyk = 0;
    switch (info.jpeg_color_space) {
    case JCS_GRAYSCALE: info.out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: info.out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK: info.out_color_space = JCS_CMYK; cmyk = 1; break;
    default:
        status = LEAFLENS_CODEC_UNSUPPORTED;
        set_message(message, message_size, "unsupported JPEG colour space");
        longjmp(errors.jump, 1);
    }

    jpeg_start_decompress(&info);
    const uint32_t w = info.output_width, h = info.output_height;
    const int components = info.output_components;
    if (components != (cmyk ? 4 : info.out_color_space == JCS_GRAYSCALE ? 1 : 3)) {
        snprintf(errors.message, sizeof errors.message, "unexpected JPEG output layout (%d components)", components);
        longjmp(errors.jump, 1);
    }
    rgb = malloc((size_t)w * h * 3);
    row = malloc((size_t)w * components);
    if (rgb == NULL || row == NULL) {
        status = LEAFLENS_CODEC_OUT_OF_MEMORY;
        set_message(message, message_size, "out of memory for the decoded JPEG");
        longjmp(errors.jump, 1);
    }
    while (info.output_scanline < h) {
        const uint32_t y = info.output_scanline;
        JSAMPROW rows[1] = {row};
        if (jpeg_read_scanlines(&info, rows, 1) != 1) {
            snprintf(errors.message, sizeof errors.message, "JPEG data ended early (scanline %u of %u)", y, h);
            longjmp(errors.jump, 1);
        }
        uint8_t *out = rgb + (size_t)y * w * 3;
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *in = row + (size_t)x * components;
            if (components == 3) {
                out[3 * x] = in[0];
                out[3 * x + 1] = in[1];
                out[3 * x + 2] = in[2];
            } else if (components == 1) {
                out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[0];
            } else {
                // Stored Adobe-style (inverted): PIL's "CMYK;I" gives C = 255 - stored, and its cmyk2rgb
                // computes R = (255 - K) - round(C·(255 - K)/255); here 255 - K is the stored K sample.
                const unsigned nk = in[3];
                for (int c = 0; c < 3; c++) {
                    const unsigned ink = 255u - in[c];
                    const int value = (int)nk - muldiv255(ink, nk);
                    out[3 * x + c] = (uint8_t)(value < 0 ? 0 : value);
                }
            }
        }
    }
    jpeg_finish_decompress(&info);  // reads up to EOI: a file cut after the last scan warns -> error
    jpeg_destroy_decompress(&info);
    free(row);
    *pixels = rgb;
    *width = w;
    *height = h;
    return LEAFLENS_CODEC_OK;
}
