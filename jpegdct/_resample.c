/*
 * The two banded products of jpegdct.resample.resample_planes, in C: per request they run on every photo whose
 * size is not an exact multiple of the model's scale, and in numpy their small batched matmuls and the
 * transposes between them cost more than the entropy decode itself.
 *
 * planes[p]: one [kv*kh, H, W] coefficient plane (channel j*kh + i is frequency (j, i)), int16 as read
 * (is16, dequantized here with steps[p]: [kv*kh]) or float (already dequantized, steps NULL); elements of a
 * row adjacent, rows row_stride and channels chan_stride elements apart (a cropped view needs no copy). The vertical band (fv, wv: [gh], [gh, 8, sv]) maps input block rows
 * fv[b] ... to output block row b, element t = a*kv + j of a band row reading frequency j of block row
 * fv[b] + a; only block columns c0 ... c0+nc-1 are computed (all that the horizontal band reads). The
 * horizontal band (fh, wh), fh relative to c0, likewise along the columns. tv, th: per output block, the
 * first tap of its band row with a non-zero weight and how many follow (an output block usually covers
 * fewer input blocks than the band's widest row: the zero taps are skipped). out: [P, nw, gh, gw], the wanted
 * natural-order channels 8*v + u. tmp: [nrows, kh, nc, gh] (nrows distinct v among the wanted), the vertical
 * pass's output laid out so that the horizontal pass reads contiguous output rows. out16: NULL, or [P, nw, gh, gw]
 * int16 that receives out rounded to the nearest integer (ties to even, as numpy's rint) and saturated: the model
 * input as served, with no further pass over it in numpy.
 *
 * Both passes are the same small product: R output rows (up to 8 output frequencies) x 8 lanes of blocks,
 * accumulated in registers over the band's taps, each tap one vector load (int16 taps scaled by their
 * quantization step as loaded) shared by all R rows: 8 accumulators + a tap + a weight fit AVX2's 16 vector
 * registers. Measured on a 500x375 photo's luma (7x7 read, 32x32 blocks out): 0.33 -> 0.2 ms.
 */
#include <stdlib.h>
#include <string.h>

typedef float fs_v8f __attribute__((vector_size(32)));
typedef short fs_v8s __attribute__((vector_size(16)));
typedef int fs_v8i __attribute__((vector_size(32)));

#define FS_LANES 8

/* Lanes 0..n-1 of src as floats, the rest zero (n a constant 8 after inlining: one vector load). */
static inline __attribute__((always_inline)) fs_v8f fs_load(const void *src, int n, int is16)
{
    fs_v8f v = {0, 0, 0, 0, 0, 0, 0, 0};
    fs_v8s s = {0, 0, 0, 0, 0, 0, 0, 0};
    if (is16) {
        memcpy(&s, src, (size_t)n * sizeof(short));
        return __builtin_convertvector(__builtin_convertvector(s, fs_v8i), fs_v8f);
    }
    memcpy(&v, src, (size_t)n * sizeof(float));
    return v;
}

/* dst[r][(l0 + l) * dstride] = sum_t w[r][t] * step[t] * src[t][l0 + l] for r < R, l < n (step: int16 taps'
 * quantization steps, applied to the loaded tap; float taps are dequantized already). */
static inline __attribute__((always_inline)) void fs_tile(int R, int T, const float *const *w, const float *step,
                                                          const void *const *src, int is16, int l0, int n,
                                                          float *const *dst, size_t dstride)
{
    const size_t esize = is16 ? sizeof(short) : sizeof(float);
    fs_v8f acc[8];
    int t, r, q;
    for (r = 0; r < R; r++)
        acc[r] = (fs_v8f){0, 0, 0, 0, 0, 0, 0, 0};
    for (t = 0; t < T; t++) {
        fs_v8f s = fs_load((const char *)src[t] + (size_t)l0 * esize, n, is16);
        if (is16)
            s *= step[t];
        for (r = 0; r < R; r++)
            acc[r] += w[r][t] * s;
    }
    for (r = 0; r < R; r++) {
        float lanes[FS_LANES];
        memcpy(lanes, &acc[r], sizeof(lanes));
        for (q = 0; q < n; q++)
            dst[r][(size_t)(l0 + q) * dstride] = lanes[q];
    }
}

/* The tiles of R output rows over lanes [lb, le): whole vectors, the last one moved back to end at le
 * (recomputing a few lanes beats a partial load); a range shorter than a vector takes the partial load. */
static inline __attribute__((always_inline)) void fs_rows(int R, int T, const float *const *w, const float *step,
                                                          const void *const *src, int is16, int lb, int le,
                                                          float *const *dst, size_t dstride)
{
    int l0 = lb;
    if (le - lb < FS_LANES) {
        fs_tile(R, T, w, step, src, is16, lb, le - lb, dst, dstride);
        return;
    }
    for (; l0 + FS_LANES <= le; l0 += FS_LANES)
        fs_tile(R, T, w, step, src, is16, l0, FS_LANES, dst, dstride);
    if (l0 < le)
        fs_tile(R, T, w, step, src, is16, le - FS_LANES, FS_LANES, dst, dstride);
}

/* fs_rows with R a compile-time constant, so the accumulators stay in registers. */
static inline __attribute__((always_inline)) void fs_rows_r(int R, int T, const float *const *w, const float *step,
                                                            const void *const *src, int is16, int lb, int le,
                                                            float *const *dst, size_t dstride)
{
    switch (R) {
    case 1: fs_rows(1, T, w, step, src, is16, lb, le, dst, dstride); break;
    case 2: fs_rows(2, T, w, step, src, is16, lb, le, dst, dstride); break;
    case 3: fs_rows(3, T, w, step, src, is16, lb, le, dst, dstride); break;
    case 4: fs_rows(4, T, w, step, src, is16, lb, le, dst, dstride); break;
    case 5: fs_rows(5, T, w, step, src, is16, lb, le, dst, dstride); break;
    case 6: fs_rows(6, T, w, step, src, is16, lb, le, dst, dstride); break;
    case 7: fs_rows(7, T, w, step, src, is16, lb, le, dst, dstride); break;
    default: fs_rows(8, T, w, step, src, is16, lb, le, dst, dstride); break;
    }
}

/* ... and the input type a constant too. */
static inline __attribute__((always_inline)) void fs_rows_any(int R, int T, const float *const *w, const float *step,
                                                              const void *const *src, int is16, int lb, int le,
                                                              float *const *dst, size_t dstride)
{
    if (is16)
        fs_rows_r(R, T, w, step, src, 1, lb, le, dst, dstride);
    else
        fs_rows_r(R, T, w, step, src, 0, lb, le, dst, dstride);
}

/* dst[i] = src[i] rounded half to even (the default rounding mode, as numpy's rint) and saturated to int16. */
static void fs_round16(const float *src, short *dst, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const float r = __builtin_rintf(src[i]);
        dst[i] = (short)(r > 32767.0f ? 32767.0f : r < -32768.0f ? -32768.0f : r);
    }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
/* One build for every x86-64 host: glibc picks the AVX2/FMA clone where the CPU has it. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
int fs_resample(const void *const *planes, int is16, const float *steps, int P, int kv, int kh,
                size_t chan_stride, size_t row_stride, int c0, int nc, int gh, const int *fv, int sv, const float *wv,
                const int *tv, int gw, const int *fh, int sh, const float *wh, const int *th,
                int nw, const int *wanted, float *tmp, float *out, short *out16)
{
    int slot[8], vrow[8], nrows = 0, p, v, r, i, t, b, c, w, m, l0;
    const size_t esize = is16 ? sizeof(short) : sizeof(float);
    const size_t taps = (size_t)(sv > sh ? sv : sh);
    /* Per tap: its source pointer, its offset from the band's first row or column, its quantization step. */
    const void **src = (const void **)malloc(sizeof(void *) * taps);
    size_t *off = (size_t *)malloc(sizeof(size_t) * taps);
    float *step = (float *)malloc(sizeof(float) * taps);
    if (src == NULL || off == NULL || step == NULL) {
        free(src);
        free(off);
        free(step);
        return -1;
    }
    for (v = 0; v < 8; v++)
        slot[v] = -1;
    for (w = 0; w < nw; w++)
        if (slot[wanted[w] / 8] < 0) {
            vrow[nrows] = wanted[w] / 8;
            slot[wanted[w] / 8] = nrows++;
        }
    for (p = 0; p < P; p++) {
        const char *xp = (const char *)planes[p];
        float *op = out + (size_t)p * nw * gh * gw;
        /* Vertical: for each horizontal input frequency i and output block row b, the nrows wanted output
         * rows v over the window's columns, from the band's taps (a, j). */
        for (i = 0; i < kh; i++) {
            for (t = 0; t < sv; t++) {
                const int a = t / kv, j = t % kv;
                off[t] = ((size_t)(j * kh + i) * chan_stride + (size_t)a * row_stride + (size_t)c0) * esize;
                step[t] = steps != NULL ? steps[(size_t)p * kv * kh + j * kh + i] : 1.0f;
            }
            /* Lanes (block columns) a vector at a time outside, output rows b inside: the b-contiguous tmp
             * lines a vector's stores touch stay in L1 (b outside: each b's stores span ~40 KB of lines). */
            for (l0 = 0; l0 < nc; l0 += FS_LANES) {
                const int le = l0 + FS_LANES < nc ? l0 + FS_LANES : nc;
                for (b = 0; b < gh; b++) {
                    const float *wrow[8];
                    float *dst[8];
                    const char *first = xp + (size_t)fv[b] * row_stride * esize;
                    const int t0 = tv[2 * b], nt = tv[2 * b + 1];
                    for (t = 0; t < nt; t++)
                        src[t] = first + off[t0 + t];
                    for (r = 0; r < nrows; r++) {
                        wrow[r] = wv + ((size_t)b * 8 + vrow[r]) * sv + t0;
                        dst[r] = tmp + ((size_t)r * kh + i) * nc * gh + b;
                    }
                    /* A last partial vector is done as the vector ending at nc (lanes nc-8 ... nc-1). */
                    const int lb = le - l0 < FS_LANES && nc >= FS_LANES ? nc - FS_LANES : l0;
                    fs_rows_any(nrows, nt, wrow, step + t0, src, is16, lb, le, dst, (size_t)gh);
                }
            }
        }
        /* Horizontal: for each wanted row v and output block column c, the wanted u of that row over the
         * output block rows, from the band's taps (a, i). */
        for (r = 0; r < nrows; r++) {
            for (t = 0; t < sh; t++)
                off[t] = (((size_t)r * kh + (size_t)(t % kh)) * nc + (size_t)(t / kh)) * gh;
            for (c = 0; c < gw; c++) {
                const float *wrow[8];
                float *dst[8];
                const float *first = tmp + (size_t)fh[c] * gh;
                const int t0 = th[2 * c], nt = th[2 * c + 1];
                m = 0;
                for (w = 0; w < nw; w++)
                    if (wanted[w] / 8 == vrow[r]) { /* m <= 8: the wanted channels are distinct */
                        wrow[m] = wh + ((size_t)c * 8 + wanted[w] % 8) * sh + t0;
                        dst[m++] = op + (size_t)w * gh * gw + c;
                    }
                for (t = 0; t < nt; t++)
                    src[t] = first + off[t0 + t];
                fs_rows_any(m, nt, wrow, NULL, src, 0, 0, gh, dst, (size_t)gw);
            }
        }
        if (out16 != NULL)
            fs_round16(op, out16 + (size_t)p * nw * gh * gw, (size_t)nw * gh * gw);
    }
    free(src);
    free(off);
    free(step);
    return 0;
}
