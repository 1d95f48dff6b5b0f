/* Declarations shared by the cffi build (cdef) and the C source. Keep plain C89 syntax: cffi parses it. */
typedef struct fs_ctx fs_ctx;

typedef struct {
    int image_width;
    int image_height;
    int num_components;
    int jpeg_color_space;
    int progressive;
    int arith_code;
    int data_precision;
    int max_h_samp;
    int max_v_samp;
    int h_samp[4];
    int v_samp[4];
    int width_in_blocks[4];
    int height_in_blocks[4];
    int component_id[4];
    int saw_adobe;
    int adobe_transform;
    int restart_interval;
    const unsigned char *exif;
    unsigned int exif_len;
    int out_width;
    int out_height;
} fs_info;

fs_ctx *fs_new(void);
void fs_free(fs_ctx *ctx);
const char *fs_message(fs_ctx *ctx);
int fs_unsupported(fs_ctx *ctx);
int fs_warnings(fs_ctx *ctx);
int fs_read_header(fs_ctx *ctx, const unsigned char *data, size_t len, int strict, int max_scans, fs_info *info);
int fs_read_coefs(fs_ctx *ctx, int ncomp, short **outs, const int *nchan, const int *chan_idx, const int *windows,
                  unsigned short *qtables);
int fs_start_pixels(fs_ctx *ctx, int scale_num, fs_info *info);
int fs_read_pixels(fs_ctx *ctx, unsigned char *out, int row_stride);
void fs_tune_malloc(int mmap_threshold);
int fs_resample(const void *const *planes, int is16, const float *steps, int P, int kv, int kh,
                size_t chan_stride, size_t row_stride, int c0, int nc, int gh, const int *fv, int sv, const float *wv,
                const int *tv, int gw, const int *fh, int sh, const float *wh, const int *th,
                int nw, const int *wanted, float *tmp, float *out, short *out16);
