/*
 * Entropy-decode-only JPEG reader on libjpeg-turbo.
 *
 * Every libjpeg error (and, in strict mode, every warning such as "premature end of data") longjmps back
 * here and becomes a return code with a message: the library never calls exit() and never prints.
 * The functions hold no global state, so cffi can release the GIL around them and callers may run many
 * contexts in parallel threads.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <malloc.h>
#include <jpeglib.h>
#include <jerror.h>

struct fs_ctx {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    int strict;
    int max_scans;
    int warnings;
    int unsupported;
    int stage; /* 0 new, 1 header read, 2 coefficients read, 3 pixel decode started */
    void *copy; /* fs_read_coefs: where its block hook copies to */
    char message[JMSG_LENGTH_MAX + 32];
};

static int is_unsupported_code(int code)
{
    return code == JERR_BAD_PRECISION || code == JERR_NOT_COMPILED || code == JERR_CONVERSION_NOTIMPL ||
           code == JERR_ARITH_NOTIMPL || code == JERR_BAD_IN_COLORSPACE || code == JERR_NOTIMPL;
}

/* fs_unsupported(): 0 invalid input, 1 unsupported feature, 2 image larger than libjpeg allows (too large). */
static int error_kind(int code)
{
    if (code == JERR_IMAGE_TOO_BIG || code == JERR_WIDTH_OVERFLOW)
        return 2;
    return is_unsupported_code(code);
}

static void fs_error_exit(j_common_ptr cinfo)
{
    fs_ctx *ctx = (fs_ctx *)cinfo->client_data;
    (*cinfo->err->format_message)(cinfo, ctx->message);
    ctx->unsupported = error_kind(cinfo->err->msg_code);
    longjmp(ctx->jump, 1);
}

static void fs_emit_message(j_common_ptr cinfo, int msg_level)
{
    fs_ctx *ctx = (fs_ctx *)cinfo->client_data;
    if (msg_level >= 0)
        return; /* trace messages */
    ctx->warnings++;
    if (ctx->strict) {
        /* Corrupt or truncated entropy data is only a warning to libjpeg (it fills zeros); a server must refuse. */
        char buf[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, buf);
        snprintf(ctx->message, sizeof(ctx->message), "corrupt JPEG data: %s", buf);
        ctx->unsupported = 0;
        longjmp(ctx->jump, 1);
    }
}

static void fs_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void fs_progress(j_common_ptr cinfo)
{
    /* Bound the work a hostile progressive file can ask for (thousands of tiny scans). */
    fs_ctx *ctx = (fs_ctx *)cinfo->client_data;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->inputctl != NULL && d->input_scan_number > ctx->max_scans) {
        snprintf(ctx->message, sizeof(ctx->message), "too many progressive scans (more than %d)", ctx->max_scans);
        ctx->unsupported = 0;
        longjmp(ctx->jump, 1);
    }
}

fs_ctx *fs_new(void)
{
    fs_ctx *ctx = (fs_ctx *)calloc(1, sizeof(fs_ctx));
    if (ctx == NULL)
        return NULL;
    ctx->cinfo.err = jpeg_std_error(&ctx->jerr);
    ctx->jerr.error_exit = fs_error_exit;
    ctx->jerr.emit_message = fs_emit_message;
    ctx->jerr.output_message = fs_output_message;
    ctx->cinfo.client_data = ctx;
    if (setjmp(ctx->jump)) {
        jpeg_destroy_decompress(&ctx->cinfo);
        free(ctx);
        return NULL;
    }
    jpeg_create_decompress(&ctx->cinfo);
    ctx->progress.progress_monitor = fs_progress;
    ctx->cinfo.progress = &ctx->progress;
    return ctx;
}

void fs_free(fs_ctx *ctx)
{
    if (ctx == NULL)
        return;
    jpeg_destroy_decompress(&ctx->cinfo);
    free(ctx);
}

const char *fs_message(fs_ctx *ctx) { return ctx->message; }
int fs_unsupported(fs_ctx *ctx) { return ctx->unsupported; }
int fs_warnings(fs_ctx *ctx) { return ctx->warnings; }

static void fill_info(fs_ctx *ctx, fs_info *info)
{
    struct jpeg_decompress_struct *c = &ctx->cinfo;
    jpeg_saved_marker_ptr m;
    int i;
    info->image_width = (int)c->image_width;
    info->image_height = (int)c->image_height;
    info->num_components = c->num_components;
    info->jpeg_color_space = (int)c->jpeg_color_space;
    info->progressive = c->progressive_mode;
    info->arith_code = c->arith_code;
    info->data_precision = c->data_precision;
    info->max_h_samp = c->max_h_samp_factor;
    info->max_v_samp = c->max_v_samp_factor;
    for (i = 0; i < 4; i++) {
        if (i < c->num_components) {
            jpeg_component_info *comp = &c->comp_info[i];
            info->h_samp[i] = comp->h_samp_factor;
            info->v_samp[i] = comp->v_samp_factor;
            info->width_in_blocks[i] = (int)comp->width_in_blocks;
            info->height_in_blocks[i] = (int)comp->height_in_blocks;
            info->component_id[i] = comp->component_id;
        } else {
            info->h_samp[i] = info->v_samp[i] = info->width_in_blocks[i] = info->height_in_blocks[i] = 0;
            info->component_id[i] = 0;
        }
    }
    info->saw_adobe = c->saw_Adobe_marker;
    info->adobe_transform = c->Adobe_transform;
    info->restart_interval = (int)c->restart_interval;
    info->exif = NULL;
    info->exif_len = 0;
    for (m = c->marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            info->exif = m->data;
            info->exif_len = m->data_length;
            break;
        }
    }
}

int fs_read_header(fs_ctx *ctx, const unsigned char *data, size_t len, int strict, int max_scans, fs_info *info)
{
    if (ctx->stage != 0) {
        snprintf(ctx->message, sizeof(ctx->message), "context already used");
        return -1;
    }
    ctx->strict = strict;
    ctx->max_scans = max_scans;
    if (setjmp(ctx->jump))
        return -1;
    jpeg_mem_src(&ctx->cinfo, data, (unsigned long)len);
    jpeg_save_markers(&ctx->cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&ctx->cinfo, TRUE);
    fill_info(ctx, info);
    ctx->stage = 1;
    return 0;
}

/*
 * The coefficients come out of libjpeg's own decoding loop, block by block, through the per-component
 * inverse-DCT hook: a raw-data decode at a reduced scale calls cinfo->idct->inverse_DCT[ci] once for every block
 * of every component (in order within each iMCU row) with the block's quantized coefficients, natural
 * order. Replacing that hook with a copy of the wanted channels skips the inverse DCT, upsampling and
 * colour conversion, and, for the usual single-scan (baseline) JPEG, libjpeg never holds more than one MCU
 * row: no whole-image coefficient buffer (jpeg_read_coefficients allocates 128 bytes per block, 36 MB at
 * 12 MP, and writing it costs more than what is kept). Progressive and multi-scan files are buffered by
 * libjpeg itself, as before.
 *
 * The hook table's layout (start_pass, then one method per component) is libjpeg's internal
 * struct jpeg_inverse_dct (jpegint.h), the same in IJG libjpeg 6b-9 and libjpeg-turbo 1.x-3.x; the
 * block count check after the decode fails loudly if a library ever calls it differently.
 */
typedef void (*fs_idct_fn)(j_decompress_ptr cinfo, jpeg_component_info *compptr, JCOEFPTR coef_block,
                           JSAMPARRAY output_buf, JDIMENSION output_col);
struct fs_idct_table {
    void (*start_pass)(j_decompress_ptr cinfo);
    fs_idct_fn inverse_DCT[MAX_COMPONENTS];
};

typedef struct {
    short *out;       /* [n, bh, bw] */
    const int *idx;   /* n natural-order channel indices */
    int n;
    JDIMENSION bh, bw;
    JDIMENSION top, left, bottom, right; /* the block window copied; the caller zeroed the rest */
    JSAMPARRAY rows;  /* this iMCU row's raw-data rows: the hook's output_buf points into them */
    size_t seen;      /* blocks copied */
    int bad;          /* a block outside the component's grid */
} fs_plane;

typedef struct {
    fs_plane planes[MAX_COMPONENTS];
    JDIMENSION imcu_row;
} fs_copy;

static void fs_copy_block(j_decompress_ptr cinfo, jpeg_component_info *compptr, JCOEFPTR coef_block,
                          JSAMPARRAY output_buf, JDIMENSION output_col)
{
    fs_copy *copy = (fs_copy *)((fs_ctx *)cinfo->client_data)->copy;
    fs_plane *p = &copy->planes[compptr->component_index];
    const int scaled = compptr->DCT_scaled_size;
    JDIMENSION row, col;
    size_t at, plane;
    int k;
    if (p->out == NULL)
        return; /* a component the caller did not ask for */
    row = copy->imcu_row * (JDIMENSION)compptr->v_samp_factor + (JDIMENSION)((output_buf - p->rows) / scaled);
    col = output_col / (JDIMENSION)scaled;
    if (row >= p->bh || col >= p->bw) {
        p->bad = 1;
        return;
    }
    p->seen++;
    if (row < p->top || row >= p->bottom || col < p->left || col >= p->right)
        return;
    at = (size_t)row * p->bw + col;
    plane = (size_t)p->bh * p->bw;
    {
        /* Locals: the stores are shorts like coef_block, so through p the compiler would reload every field. */
        short *o = p->out + at;
        const int *idx = p->idx;
        const int n = p->n;
        for (k = 0; k < n; k++, o += plane)
            *o = coef_block[idx[k]];
    }
}

/* Whether any component asks for a channel other than the DC. */
static int wants_ac(int ncomp, const int *nchan, const int *chan_idx)
{
    int ci, k, total = 0;
    for (ci = 0; ci < ncomp; ci++)
        total += nchan[ci];
    for (k = 0; k < total; k++)
        if (chan_idx[k] != 0)
            return 1;
    return 0;
}

/*
 * Entropy-decodes the whole image and copies the wanted channels of each component into outs[c], laid out
 * [nchan[c], height_in_blocks, width_in_blocks] in natural (row-major 8*v+u) order. chan_idx holds the
 * channel lists of all components back to back. windows: NULL, or per component (top, left, height, width)
 * in blocks: only the blocks inside are copied (the caller zeroes outs; a resize reads only the blocks
 * under its crop). qtables receives 64 quantization steps per component, natural order.
 */
int fs_read_coefs(fs_ctx *ctx, int ncomp, short **outs, const int *nchan, const int *chan_idx, const int *windows,
                  unsigned short *qtables)
{
    struct jpeg_decompress_struct *c = &ctx->cinfo;
    JSAMPARRAY rows[MAX_COMPONENTS];
    fs_copy copy;
    int ci, k, offset = 0, lines;
    if (ctx->stage != 1) {
        snprintf(ctx->message, sizeof(ctx->message), "header not read");
        return -1;
    }
    if (setjmp(ctx->jump))
        return -1;
    memset(&copy, 0, sizeof(copy));
    ctx->copy = &copy;
    c->raw_data_out = TRUE;
    c->do_block_smoothing = FALSE; /* it would estimate missing AC terms of an incomplete progressive file */
    /* libjpeg stores a block's AC coefficients only where its scaled IDCT needs them (DCT_scaled_size > 1):
     * scale 2/8 keeps them all, 1/8 skips storing them when the DC is all that is wanted. */
    c->scale_num = wants_ac(ncomp, nchan, chan_idx) ? 2 : 1;
    c->scale_denom = 8;
    ctx->stage = 2;
    jpeg_start_decompress(c);
    for (ci = 0; ci < c->num_components; ci++) {
        jpeg_component_info *comp = &c->comp_info[ci];
        fs_plane *p = &copy.planes[ci];
        const JDIMENSION width = (comp->width_in_blocks + (JDIMENSION)c->max_h_samp_factor) * comp->DCT_scaled_size;
        rows[ci] = (*c->mem->alloc_sarray)((j_common_ptr)c, JPOOL_IMAGE, width,
                                           (JDIMENSION)(comp->v_samp_factor * comp->DCT_scaled_size));
        p->rows = rows[ci];
        p->bh = comp->height_in_blocks;
        p->bw = comp->width_in_blocks;
        p->top = p->left = 0;
        p->bottom = p->bh;
        p->right = p->bw;
        if (ci < ncomp && windows != NULL) {
            const int *win = windows + 4 * ci;
            p->top = (JDIMENSION)win[0];
            p->left = (JDIMENSION)win[1];
            p->bottom = (JDIMENSION)(win[0] + win[2]);
            p->right = (JDIMENSION)(win[1] + win[3]);
        }
        if (ci < ncomp) {
            p->out = outs[ci];
            p->n = nchan[ci];
            p->idx = chan_idx + offset;
            offset += nchan[ci];
        }
        ((struct fs_idct_table *)c->idct)->inverse_DCT[ci] = fs_copy_block;
    }
    lines = c->max_v_samp_factor * c->min_DCT_scaled_size;
    while (c->output_scanline < c->output_height) {
        copy.imcu_row = c->output_scanline / (JDIMENSION)lines;
        if (jpeg_read_raw_data(c, rows, (JDIMENSION)lines) == 0) {
            snprintf(ctx->message, sizeof(ctx->message), "decoder stopped early");
            return -1;
        }
    }
    for (ci = 0; ci < ncomp && ci < c->num_components; ci++) {
        jpeg_component_info *comp = &c->comp_info[ci];
        const fs_plane *p = &copy.planes[ci];
        if (p->bad || p->seen != (size_t)p->bh * p->bw) {
            snprintf(ctx->message, sizeof(ctx->message), "coefficient hook saw %lu of %lu blocks of component %d",
                     (unsigned long)p->seen, (unsigned long)p->bh * p->bw, ci);
            return -1;
        }
        for (k = 0; k < DCTSIZE2; k++)
            qtables[ci * DCTSIZE2 + k] = comp->quant_table != NULL ? comp->quant_table->quantval[k] : 0;
    }
    jpeg_finish_decompress(c);
    ctx->copy = NULL;
    return 0;
}

/* Starts a pixel decode to RGB at scale scale_num/8 (libjpeg's DCT-domain scaling); fills out_width/out_height. */
int fs_start_pixels(fs_ctx *ctx, int scale_num, fs_info *info)
{
    struct jpeg_decompress_struct *c = &ctx->cinfo;
    if (ctx->stage != 1) {
        snprintf(ctx->message, sizeof(ctx->message), "header not read");
        return -1;
    }
    if (setjmp(ctx->jump))
        return -1;
    c->out_color_space = JCS_RGB;
    c->scale_num = (unsigned int)scale_num;
    c->scale_denom = 8;
    c->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(c);
    ctx->stage = 3;
    info->out_width = (int)c->output_width;
    info->out_height = (int)c->output_height;
    return 0;
}

int fs_read_pixels(fs_ctx *ctx, unsigned char *out, int row_stride)
{
    struct jpeg_decompress_struct *c = &ctx->cinfo;
    if (ctx->stage != 3) {
        snprintf(ctx->message, sizeof(ctx->message), "pixel decode not started");
        return -1;
    }
    if (setjmp(ctx->jump))
        return -1;
    while (c->output_scanline < c->output_height) {
        JSAMPROW rowp = out + (size_t)c->output_scanline * row_stride;
        jpeg_read_scanlines(c, &rowp, 1);
    }
    jpeg_finish_decompress(c);
    ctx->stage = 4;
    return 0;
}

void fs_tune_malloc(int mmap_threshold)
{
    /* Keep libjpeg's per-image coefficient buffers on the heap instead of fresh mmaps: the page faults of
     * repeated large mmaps cost more than the decode itself on mid-size images. */
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    mallopt(M_TRIM_THRESHOLD, 2 * mmap_threshold);
}
