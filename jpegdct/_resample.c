/*
 * The two banded products of jpegdct.resample.resample_plane, in C: per request they run on every photo whose
 * size is not an exact multiple of the model's scale, and in numpy their small batched matmuls and the
 * transposes between them cost more than the entropy decode itself.
 *
 * x: [P, kv*kh, H, W] float planes (channel j*kh + i is frequency (j, i)), already dequantized and cut to the
 * window the bands read. The vertical band (fv, wv: [gh], [gh, 8, sv]) maps input block rows fv[b] ... to
 * output block row b, element t = a*kv + j of a band row reading frequency j of block row fv[b] + a; the
 * horizontal band (fh, wh) likewise along the columns. out: [P, nw, gh, gw], the wanted natural-order
 * channels 8*v + u. tmp: [nrows, kh, W, gh] (nrows distinct v among the wanted), the vertical pass's output
 * laid out so that the horizontal pass reads contiguous output rows; acc: max(W, gh) floats of scratch.
 */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
/* One build for every x86-64 host: glibc picks the AVX2/FMA clone where the CPU has it (2-3x here). */
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void fs_resample(const float *x, int P, int kv, int kh, int H, int W,
                 int gh, const int *fv, int sv, const float *wv,
                 int gw, const int *fh, int sh, const float *wh,
                 int nw, const int *wanted, float *tmp, float *acc, float *out)
{
    int slot[8], nrows = 0, p, v, r, i, j, a, b, c, w;
    const size_t plane = (size_t)H * W;
    for (v = 0; v < 8; v++)
        slot[v] = -1;
    for (w = 0; w < nw; w++)
        if (slot[wanted[w] / 8] < 0)
            slot[wanted[w] / 8] = nrows++;
    for (p = 0; p < P; p++) {
        const float *xp = x + (size_t)p * kv * kh * plane;
        float *op = out + (size_t)p * nw * gh * gw;
        for (v = 0; v < 8; v++) {
            if ((r = slot[v]) < 0)
                continue;
            for (i = 0; i < kh; i++)
                for (b = 0; b < gh; b++) {
                    const float *wrow = wv + ((size_t)b * 8 + v) * sv;
                    float *dst = tmp + ((size_t)r * kh + i) * W * gh + b;
                    for (c = 0; c < W; c++)
                        acc[c] = 0.0f;
                    for (a = 0; a < sv / kv; a++)
                        for (j = 0; j < kv; j++) {
                            const float wt = wrow[a * kv + j];
                            const float *src = xp + ((size_t)j * kh + i) * plane + (size_t)(fv[b] + a) * W;
                            if (wt == 0.0f)
                                continue;
                            for (c = 0; c < W; c++)
                                acc[c] += wt * src[c];
                        }
                    for (c = 0; c < W; c++)
                        dst[(size_t)c * gh] = acc[c];
                }
        }
        for (w = 0; w < nw; w++) {
            const int u = wanted[w] % 8;
            const float *tr = tmp + (size_t)slot[wanted[w] / 8] * kh * W * gh;
            for (c = 0; c < gw; c++) {
                const float *wrow = wh + ((size_t)c * 8 + u) * sh;
                for (b = 0; b < gh; b++)
                    acc[b] = 0.0f;
                for (a = 0; a < sh / kh; a++)
                    for (i = 0; i < kh; i++) {
                        const float wt = wrow[a * kh + i];
                        const float *src = tr + ((size_t)i * W + fh[c] + a) * gh;
                        if (wt == 0.0f)
                            continue;
                        for (b = 0; b < gh; b++)
                            acc[b] += wt * src[b];
                    }
                for (b = 0; b < gh; b++)
                    op[((size_t)w * gh + b) * gw + c] = acc[b];
            }
        }
    }
}
