/* Diagonally pivoted Cholesky of many small Gram matrices, one box at a time (inr_amr_core.native).
 *
 * The same steps as inr_amr_core.pruning.pivoted_cholesky, for one box whose matrix stays in cache
 * through all its steps: the batched torch version streams every box's matrix through memory once
 * per step, and pays a dozen kernel launches per step. Each box is computed on its own, in a fixed
 * order of operations, so its result does not depend on the batch it came in (nor on the threads
 * that share the batch). Built without floating-point contraction or reassociation (native.py), so
 * it gives the same bits with or without vector instructions.
 *
 * Input of box b: either its factor Y (m x w, row-major; the Gram row of a pivot p is Y^T y_p), or
 * its Gram matrix G (w x w; gram != 0, m ignored).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(_OPENMP)
#include <omp.h>
#define THREAD_NUM() omp_get_thread_num()
#else
#define THREAD_NUM() 0
#endif

/* Whether this build splits a batch between OpenMP threads itself (the caller splits it otherwise).
 * Why OpenMP: torch runs on the process's OpenMP runtime, whose worker threads spin for a while after
 * each of torch's operations; threads of the caller's own would share the cores with them, while this
 * batch's parallel loop runs on those very workers where torch's runtime is GNU's libgomp.so.1 (a
 * process loads one; native.compile_flags says more). */
int inr_amr_openmp(void) {
#if defined(_OPENMP)
    return 1;
#else
    return 0;
#endif
}

/* The Gram row of a pivot, G[p, :] = y_p^T Y, is most of a box's work (steps x m x w products). Each
 * entry is summed over the rows of Y in their order, starting from zero. The AVX2 path keeps 32 entries
 * in eight registers while it walks down the rows (the plain loop stores and reloads the whole row for
 * every row of Y); it adds in the same order without fusing, so both paths give the same bits. col: the
 * pivot's column of Y in float64, m entries. */
#if defined(__AVX2__)
#define LOAD4_F64(p) _mm256_loadu_pd(p)
#define LOAD4_F32(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define GRAM_ROW_BLOCKS(T, LOAD4) \
    for (; c + 32 <= w; c += 32) { \
        __m256d a[8]; \
        int k; \
        for (k = 0; k < 8; k++) a[k] = _mm256_setzero_pd(); \
        for (i = 0; i < m; i++) { \
            const T *yr = y + i * w + c; \
            const __m256d b = _mm256_broadcast_sd(col + i); \
            for (k = 0; k < 8; k++) a[k] = _mm256_add_pd(a[k], _mm256_mul_pd(b, LOAD4(yr + 4 * k))); \
        } \
        for (k = 0; k < 8; k++) _mm256_storeu_pd(row + c + 4 * k, a[k]); \
    }
#else
#define GRAM_ROW_BLOCKS(T, LOAD4)
#endif

#define DEFINE_GRAM_ROW(NAME, T, LOAD4) \
static void NAME(const T *y, int64_t m, int64_t w, const double *col, double *row) { \
    int64_t c = 0, i; \
    GRAM_ROW_BLOCKS(T, LOAD4) \
    for (int64_t cc = c; cc < w; cc++) row[cc] = 0.0; \
    for (i = 0; i < m; i++) { \
        const T *yr = y + i * w; \
        const double yp = col[i]; \
        for (int64_t cc = c; cc < w; cc++) row[cc] += yp * (double)yr[cc]; \
    } \
}

DEFINE_GRAM_ROW(gram_row_f64, double, LOAD4_F64)
DEFINE_GRAM_ROW(gram_row_f32, float, LOAD4_F32)

/* row -= sum over k < j of R[k, p] R[k, :], subtracted in the order of k (as the plain loop does). */
static void subtract_previous_rows(const double *r, int64_t j, int64_t w, int64_t p, double *row) {
    int64_t c = 0, k;
#if defined(__AVX2__)
    for (; c + 16 <= w; c += 16) {
        __m256d a0 = _mm256_loadu_pd(row + c), a1 = _mm256_loadu_pd(row + c + 4);
        __m256d a2 = _mm256_loadu_pd(row + c + 8), a3 = _mm256_loadu_pd(row + c + 12);
        for (k = 0; k < j; k++) {
            const double *prev = r + k * w + c;
            const __m256d b = _mm256_broadcast_sd(r + k * w + p);
            a0 = _mm256_sub_pd(a0, _mm256_mul_pd(b, _mm256_loadu_pd(prev)));
            a1 = _mm256_sub_pd(a1, _mm256_mul_pd(b, _mm256_loadu_pd(prev + 4)));
            a2 = _mm256_sub_pd(a2, _mm256_mul_pd(b, _mm256_loadu_pd(prev + 8)));
            a3 = _mm256_sub_pd(a3, _mm256_mul_pd(b, _mm256_loadu_pd(prev + 12)));
        }
        _mm256_storeu_pd(row + c, a0);
        _mm256_storeu_pd(row + c + 4, a1);
        _mm256_storeu_pd(row + c + 8, a2);
        _mm256_storeu_pd(row + c + 12, a3);
    }
#endif
    for (k = 0; k < j; k++) {
        const double *prev = r + k * w;
        const double coef = prev[p];
        for (int64_t cc = c; cc < w; cc++) row[cc] -= coef * prev[cc];
    }
}

#define DEFINE_ONE_BOX(NAME, T, GRAM_ROW) \
static void NAME(const T *y, int64_t m, int64_t w, int gram, int64_t cap, int64_t steps, double eps2, \
                    double *r, int64_t *piv, double *rdiag, int64_t *rank_out, uint8_t *capped_out, double *resid) { \
    double *col = resid + w; /* (scratch: w residuals, then the pivot's column of a factor) */ \
    int64_t c, i, j; \
    int has_nan = 0; \
    double top = -INFINITY; \
    if (gram) { \
        for (c = 0; c < w; c++) resid[c] = (double)y[c * w + c]; \
    } else { \
        for (c = 0; c < w; c++) resid[c] = 0.0; \
        for (i = 0; i < m; i++) { \
            const T *row = y + i * w; \
            for (c = 0; c < w; c++) resid[c] += (double)row[c] * (double)row[c]; \
        } \
    } \
    for (c = 0; c < w; c++) { \
        if (isnan(resid[c])) has_nan = 1; \
        else if (resid[c] > top) top = resid[c]; \
    } \
    if (w == 0) top = 0.0; \
    if (has_nan) top = NAN; /* as torch's max: a NaN column stops the box before its first step */ \
    const double thresh = eps2 * top; \
    int active = top > 0; \
    int64_t rank = 0; \
    uint8_t capped = 0; \
    for (j = 0;; j++) { \
        double val = -INFINITY; \
        int64_t p = 0; \
        for (c = 0; c < w; c++) { \
            const double v = resid[c]; \
            if (isnan(v)) { \
                val = v; \
                p = c; \
                break; \
            } \
            if (v > val) { \
                val = v; \
                p = c; \
            } \
        } \
        const int passes = active && val >= thresh && val > 0; \
        if (passes && rank >= cap) { \
            capped = 1; \
            break; \
        } \
        if (!passes || j >= steps) break; \
        double *row = r + j * w; \
        if (gram) { \
            for (c = 0; c < w; c++) row[c] = (double)y[p * w + c]; \
        } else { /* G[p, :] = y_p^T Y */ \
            for (i = 0; i < m; i++) col[i] = (double)y[i * w + p]; \
            GRAM_ROW(y, m, w, col, row); \
        } \
        subtract_previous_rows(r, j, w, p, row); \
        const double norm = sqrt(val); \
        for (c = 0; c < w; c++) row[c] /= norm; \
        row[p] = norm; /* the pivot's own entry is exactly its norm */ \
        for (c = 0; c < w; c++) resid[c] -= row[c] * row[c]; \
        resid[p] = -INFINITY; \
        piv[j] = p; \
        rdiag[j] = norm; \
        rank++; \
    } \
    for (j = rank; j < steps; j++) { /* rows, pivots and norms past the rank are zero */ \
        memset(r + j * w, 0, (size_t)w * sizeof(double)); \
        piv[j] = 0; \
        rdiag[j] = 0.0; \
    } \
    *rank_out = rank; \
    *capped_out = capped; \
}

DEFINE_ONE_BOX(one_box_f64, double, gram_row_f64)
DEFINE_ONE_BOX(one_box_f32, float, gram_row_f32)

/* Boxes [first, last) of a batch: y (B, m, w) or (B, w, w); caps (B,); outputs r (B, steps, w),
 * piv (B, steps), rdiag (B, steps), rank (B,), capped (B,); resid: threads x (w + m) doubles of scratch
 * (one slice per thread). threads > 1 splits the boxes between OpenMP threads where the build has them
 * (inr_amr_openmp()); each box is computed by one thread alone, in the same order of operations, so the
 * results do not depend on the split. The float32 entry point reads float32 factors (activations or
 * their sketches) and computes in float64: the products of two float32 numbers are exact in float64, so
 * it gives the same bits as the float64 entry point on the float64 copy, with half the memory traffic
 * and no copy. */
void inr_amr_pivoted_cholesky(const double *y, int64_t first, int64_t last, int64_t m, int64_t w, int gram,
                              const int64_t *caps, int64_t steps, double eps2, double *r, int64_t *piv, double *rdiag,
                              int64_t *rank, uint8_t *capped, double *resid, int threads) {
    const int64_t per_box = (gram ? w : m) * w;
    int64_t b;
    (void)threads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (b = first; b < last; b++) {
        one_box_f64(y + b * per_box, m, w, gram, caps[b], steps, eps2, r + b * steps * w, piv + b * steps,
                    rdiag + b * steps, rank + b, capped + b, resid + THREAD_NUM() * (w + m));
    }
}

void inr_amr_pivoted_cholesky_f32(const float *y, int64_t first, int64_t last, int64_t m, int64_t w,
                                  const int64_t *caps, int64_t steps, double eps2, double *r, int64_t *piv,
                                  double *rdiag, int64_t *rank, uint8_t *capped, double *resid, int threads) {
    int64_t b;
    (void)threads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (b = first; b < last; b++) {
        one_box_f32(y + b * m * w, m, w, 0, caps[b], steps, eps2, r + b * steps * w, piv + b * steps,
                    rdiag + b * steps, rank + b, capped + b, resid + THREAD_NUM() * (w + m));
    }
}

/* Interpolation matrices T = R11^-1 R of boxes [first, last): r (B, k, w) R rows (zero past each rank),
 * piv (B, k), rank (B,); out t (B, k, w). R11[i, j] = R[i, piv[j]] is upper triangular (its entries
 * below the diagonal are round-off of zeros, and are taken as zero); the pivot columns of T are set to
 * exact unit vectors, so that a kept neuron is kept exactly; rows past the rank are zero. threads: as above. */
void inr_amr_interpolation(const double *r, const int64_t *piv, const int64_t *rank, int64_t first, int64_t last,
                           int64_t k, int64_t w, double *t, int threads) {
    int64_t b;
    (void)threads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (b = first; b < last; b++) {
        const double *rb = r + b * k * w;
        const int64_t *pb = piv + b * k;
        double *tb = t + b * k * w;
        const int64_t n = rank[b];
        int64_t i, j, c;
        for (i = n - 1; i >= 0; i--) {
            double *ti = tb + i * w;
            memcpy(ti, rb + i * w, (size_t)w * sizeof(double));
            for (j = i + 1; j < n; j++) {
                const double a = rb[i * w + pb[j]];
                const double *tj = tb + j * w;
                for (c = 0; c < w; c++) ti[c] -= a * tj[c];
            }
            const double d = rb[i * w + pb[i]];
            for (c = 0; c < w; c++) ti[c] /= d;
        }
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++) tb[i * w + pb[j]] = i == j ? 1.0 : 0.0;
        if (n < k) memset(tb + n * w, 0, (size_t)((k - n) * w) * sizeof(double));
    }
}
