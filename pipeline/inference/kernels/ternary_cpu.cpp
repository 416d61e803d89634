// Integer matmul of int8 activations with 2-bit packed ternary weights, for batch-1 decoding on CPUs.
//
// Layout (pipeline/inference/packing.py, "2bit"): row o of the weight is ceil(in / 4) bytes; byte k holds
// weights 4k..4k+3, weight 4k+j as the field f = code + 1 in {0, 1, 2} at bits 2j..2j+1.
//
// Method: on-the-fly unpacking, no lookup table. Per token the activations are split once into four
// "planes", plane_j[k] = x[4k + j] (0 past the end), so that field j of every byte of a row lines up
// with plane j at the same index k and the unpacking is just (byte >> 2j) & 3 on whole vectors. Then
//     sum_i code_i * x_i = sum_j sum_k f_j(w_k) * plane_j[k]  -  sum_i x_i,
// and the f * x products are unsigned-by-signed bytes, what x86's pmaddubsw multiplies. Padding
// weights have f = 1 but meet zero activations, so they add nothing. Measured on a 2-core AMD EPYC
// (AVX-512), this beat a 256-entry-per-4-activations lookup table about 9x (the table costs one scalar
// load per byte), the auto-vectorised scalar loop about 2.5x, and matched an AVX-512 VNNI variant. A second
// VNNI variant (each field masked in place, 4 ANDs and 4 vpdpbusd per row and step into 16 independent
// accumulators, no shifts: dot_rows4_vnni) was slower than the AVX-512BW loop on the 132M layers in
// interleaved trials at 1 and 2 threads on the machine of an earlier session (a version whose
// accumulators GCC spilled, see below), and faster on a 2-core Intel Xeon with 480 MB of L3 (the README's
// profile figures, `python -m pipeline.bench.profile`); it runs on the avx512vnni path and wider.
//
// Decoding (DecodeStack) keeps its threads in one parallel region for a whole token, each computing a
// share of every matmul's rows, instead of starting threads per matmul (48 times a token on the 132M model).

#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

// Which inner loops run. The build targets this CPU (-march=native), so every path compiled in is one
// the CPU has; the widest runs unless set_path narrows it (the tests force each path against the
// reference). Entry points read it once per call, so a change applies from the next call.
namespace ternarylm {
// avx512: AVX-512BW for the ternary matmul (64 packed bytes per step); avx512vnni adds VNNI's fused
// u8 x s8 dot products (vpdpbusd) for the ternary matmul (dot_rows4_vnni) and the int8 head
// (int8_head.cpp); avx512bf16 adds the bf16 head's dot-product instruction (every CPU with AVX-512
// BF16 also has VNNI).
enum Path : int64_t { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3, kAvx512Bf16 = 4 };
const char* const kPathNames[] = {"scalar", "avx2", "avx512", "avx512vnni", "avx512bf16"};

int64_t widest_compiled() {
#if defined(__AVX512BF16__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX2__)
  return kAvx512Bf16;
#elif defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX2__)
  return kAvx512Vnni;
#elif defined(__AVX512BW__) && defined(__AVX2__)
  return kAvx512;
#elif defined(__AVX2__)
  return kAvx2;
#else
  return kScalar;
#endif
}

int64_t g_path = widest_compiled();
}  // namespace ternarylm

// The path in force, for the other sources of this module (int8_head.cpp).
int64_t kernel_path() { return ternarylm::g_path; }

namespace {

// Scalar dot of one packed row with the four activation planes; also finishes the vector loop's
// tail. Partial sums of four bytes stay well inside int32 (|f * x| <= 3 * 128).
// The four activation planes of one token, plane j at planes + j * plane_stride.
struct Planes {
  const int8_t* p[4];
  Planes(const int8_t* planes, int64_t plane_stride)
      : p{planes, planes + plane_stride, planes + 2 * plane_stride, planes + 3 * plane_stride} {}
};

inline int32_t dot_row_scalar(const uint8_t* row, const int8_t* planes, int64_t n_bytes, int64_t plane_stride,
                              int64_t begin) {
  const Planes x(planes, plane_stride);
  int32_t acc = 0;
  for (int64_t k = begin; k < n_bytes; ++k) {
    const int32_t b = row[k];
    acc += (b & 3) * x.p[0][k] + ((b >> 2) & 3) * x.p[1][k] + ((b >> 4) & 3) * x.p[2][k] + (b >> 6) * x.p[3][k];
  }
  return acc;
}

#if defined(__AVX2__)
// 32 bytes (128 weights) per step. pmaddubsw sums pairs of u8 * s8 into int16: each pair is at most
// 2 * 3 * 128 = 768 in magnitude and four of them (one per plane) 3072, so int16 never saturates;
// pmaddwd with ones then widens to int32 before accumulating across the row.
// The 32 fields-times-activations of one 32-byte step, summed to int32 lanes: the four fields of
// each byte (16-bit shifts move bits across byte borders, but the mask keeps only each byte's own
// field) times the four planes at the same bytes.
inline __m256i dot_step(const __m256i w, const __m256i x[4]) {
  const __m256i mask = _mm256_set1_epi8(3);
  __m256i s = _mm256_maddubs_epi16(_mm256_and_si256(w, mask), x[0]);
  s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 2), mask), x[1]));
  s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), mask), x[2]));
  s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 6), mask), x[3]));
  return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
}

inline void load_planes(const Planes& planes, int64_t k, __m256i x[4]) {
  for (int j = 0; j < 4; ++j) x[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(planes.p[j] + k));
}

inline int32_t dot_row_avx2(const uint8_t* row, const int8_t* planes, int64_t n_bytes, int64_t plane_stride) {
  const Planes p(planes, plane_stride);
  __m256i acc = _mm256_setzero_si256(), x[4];
  int64_t k = 0;
  for (; k + 32 <= n_bytes; k += 32) {
    load_planes(p, k, x);
    acc = _mm256_add_epi32(acc, dot_step(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + k)), x));
  }
  __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  sum = _mm_hadd_epi32(sum, sum);
  sum = _mm_hadd_epi32(sum, sum);
  return _mm_cvtsi128_si32(sum) + dot_row_scalar(row, planes, n_bytes, plane_stride, k);
}

// Four consecutive rows at once (rows, rows + n_bytes, ...): each activation vector is loaded once for
// the four rows, and the four sums are reduced together at the end, one reduction per four rows
// instead of one per row. A 768-wide row is only six 32-byte steps, so at decode shapes the loads and
// the horizontal reduction cost as much as the multiplies; measured 1.4x on the 132M layers.
inline void dot_rows4_avx2(const uint8_t* rows, const int8_t* planes, int64_t n_bytes, int64_t plane_stride,
                           int32_t* out) {
  const Planes p(planes, plane_stride);
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
  __m256i x[4];
  int64_t k = 0;
  for (; k + 32 <= n_bytes; k += 32) {
    load_planes(p, k, x);
    for (int r = 0; r < 4; ++r) {
      acc[r] = _mm256_add_epi32(acc[r], dot_step(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * n_bytes + k)), x));
    }
  }
  // hadd within 128-bit lanes twice leaves (row 0, 1, 2, 3) partial sums in each lane; add the lanes.
  const __m256i pairs = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0], acc[1]), _mm256_hadd_epi32(acc[2], acc[3]));
  const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), sums);
  for (int r = 0; r < 4; ++r) out[r] += dot_row_scalar(rows + r * n_bytes, planes, n_bytes, plane_stride, k);
}
#endif

#if defined(__AVX512BW__) && defined(__AVX2__)
// dot_step at 64 bytes (256 weights): the same fields and planes, twice as wide, so each row of the
// 132M layers (192 or 513 bytes) takes half the steps. The last step loads only the row's remaining
// bytes (masked loads read nothing past the row or the planes); masked-out bytes are 0, so their four
// fields are 0 and add nothing, and every real weight is counted, as the subtracted activation sum needs.
inline __m512i dot_step512(const __m512i w, const __m512i x[4]) {
  const __m512i mask = _mm512_set1_epi8(3);
  __m512i s = _mm512_maddubs_epi16(_mm512_and_si512(w, mask), x[0]);
  s = _mm512_add_epi16(s, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(w, 2), mask), x[1]));
  s = _mm512_add_epi16(s, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(w, 4), mask), x[2]));
  s = _mm512_add_epi16(s, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(w, 6), mask), x[3]));
  return _mm512_madd_epi16(s, _mm512_set1_epi16(1));
}

inline void dot_rows4_avx512(const uint8_t* rows, const int8_t* planes, int64_t n_bytes, int64_t plane_stride,
                             int32_t* out) {
  const Planes p(planes, plane_stride);
  __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
  __m512i x[4];
  for (int64_t k = 0; k < n_bytes; k += 64) {
    const int64_t left = n_bytes - k;
    const __mmask64 take = left >= 64 ? ~__mmask64{0} : ((__mmask64{1} << left) - 1);
    for (int j = 0; j < 4; ++j) x[j] = _mm512_maskz_loadu_epi8(take, planes + j * plane_stride + k);
    for (int r = 0; r < 4; ++r) {
      acc[r] = _mm512_add_epi32(acc[r], dot_step512(_mm512_maskz_loadu_epi8(take, rows + r * n_bytes + k), x));
    }
  }
  for (int r = 0; r < 4; ++r) out[r] = _mm512_reduce_add_epi32(acc[r]);
}
#endif

#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX2__)
// GCC's partial-redundancy elimination makes its register allocator spill half of the sixteen
// accumulators below to the stack on every step (seen in the disassembly: a load and a store per
// vpdpbusd); without that pass the loop keeps them all in registers. Scoped to these functions.
#pragma GCC push_options
#pragma GCC optimize("no-tree-pre")
// Four rows with VNNI's vpdpbusd (u8 x s8, four products summed into each int32 lane in one
// instruction), the fields masked in place instead of shifted down: byte & (3 << 2j) is 4^j f_j, so
// each field has its own accumulator and its sum is divided by 4^j at the end (exactly: every lane
// is a sum of multiples of 4^j; an arithmetic shift of each lane). Per 64 bytes and row that is 4
// ANDs and 4 vpdpbusd against the BW loop's 3 shifts, 4 ANDs, 4 pmaddubsw, 3 adds and a pmaddwd, and
// on Intel cores the shifts, pmaddubsw and pmaddwd all issue on one port. A lane gathers at most
// 4 * 192 * 128 per 64-byte step (field 3 of a byte is at most 192 in place), so it stays inside
// int32 for rows up to 2^20 bytes, more than the 2^22-weight bound of the callers.
// One row's step: the four fields of 64 packed bytes w, masked in place, into their accumulators.
// The accumulators are named variables, not an array: GCC keeps an array of vectors in memory and
// stores every element on each step (16 stores a step for four rows), which cost more than the math.
inline void vnni_row(__m512i w, const __m512i& x0, const __m512i& x1, const __m512i& x2, const __m512i& x3,
                     __m512i& f0, __m512i& f1, __m512i& f2, __m512i& f3) {
  f0 = _mm512_dpbusd_epi32(f0, _mm512_and_si512(w, _mm512_set1_epi8(0x03)), x0);
  f1 = _mm512_dpbusd_epi32(f1, _mm512_and_si512(w, _mm512_set1_epi8(0x0C)), x1);
  f2 = _mm512_dpbusd_epi32(f2, _mm512_and_si512(w, _mm512_set1_epi8(0x30)), x2);
  f3 = _mm512_dpbusd_epi32(f3, _mm512_and_si512(w, _mm512_set1_epi8(static_cast<char>(0xC0))), x3);
}

// A row's sum from its field accumulators: field j's lanes are multiples of 4^j, shifted down exactly.
inline int32_t vnni_total(__m512i f0, __m512i f1, __m512i f2, __m512i f3) {
  const __m512i total = _mm512_add_epi32(_mm512_add_epi32(f0, _mm512_srai_epi32(f1, 2)),
                                         _mm512_add_epi32(_mm512_srai_epi32(f2, 4), _mm512_srai_epi32(f3, 6)));
  return _mm512_reduce_add_epi32(total);
}

inline void dot_rows4_vnni(const uint8_t* rows, const int8_t* planes, int64_t n_bytes, int64_t plane_stride,
                           int32_t* out) {
  const __m512i zero = _mm512_setzero_si512();
  __m512i a0 = zero, a1 = zero, a2 = zero, a3 = zero, b0 = zero, b1 = zero, b2 = zero, b3 = zero;
  __m512i c0 = zero, c1 = zero, c2 = zero, c3 = zero, d0 = zero, d1 = zero, d2 = zero, d3 = zero;
  for (int64_t k = 0; k < n_bytes; k += 64) {
    const int64_t left = n_bytes - k;
    const __mmask64 take = left >= 64 ? ~__mmask64{0} : ((__mmask64{1} << left) - 1);
    const __m512i x0 = _mm512_maskz_loadu_epi8(take, planes + k);
    const __m512i x1 = _mm512_maskz_loadu_epi8(take, planes + plane_stride + k);
    const __m512i x2 = _mm512_maskz_loadu_epi8(take, planes + 2 * plane_stride + k);
    const __m512i x3 = _mm512_maskz_loadu_epi8(take, planes + 3 * plane_stride + k);
    vnni_row(_mm512_maskz_loadu_epi8(take, rows + k), x0, x1, x2, x3, a0, a1, a2, a3);
    vnni_row(_mm512_maskz_loadu_epi8(take, rows + n_bytes + k), x0, x1, x2, x3, b0, b1, b2, b3);
    vnni_row(_mm512_maskz_loadu_epi8(take, rows + 2 * n_bytes + k), x0, x1, x2, x3, c0, c1, c2, c3);
    vnni_row(_mm512_maskz_loadu_epi8(take, rows + 3 * n_bytes + k), x0, x1, x2, x3, d0, d1, d2, d3);
  }
  out[0] = vnni_total(a0, a1, a2, a3);
  out[1] = vnni_total(b0, b1, b2, b3);
  out[2] = vnni_total(c0, c1, c2, c3);
  out[3] = vnni_total(d0, d1, d2, d3);
}

// dot_groups (below) on the VNNI path: the groups of four rows, then the last out_features % 4 rows.
void dot_groups_vnni(const uint8_t* wp, int64_t n_bytes, int64_t out_features, const int8_t* planes,
                     int64_t plane_stride, int32_t x_sum, int64_t begin, int64_t end, int32_t* y) {
  int32_t sums[4];
  for (int64_t g = begin; g < end; ++g) {
    const int64_t o = 4 * g;
    if (o + 4 <= out_features) {
      dot_rows4_vnni(wp + o * n_bytes, planes, n_bytes, plane_stride, sums);
      for (int r = 0; r < 4; ++r) y[o + r] = sums[r] - x_sum;
    } else {
      for (int64_t r = o; r < out_features; ++r) y[r] = dot_row_avx2(wp + r * n_bytes, planes, n_bytes, plane_stride) - x_sum;
    }
  }
}
#pragma GCC pop_options
#endif

// The path's dot products: AVX2 where ``avx2`` (compiled in and chosen), else the portable scalar loop,
// which compilers auto-vectorise at -O3; four rows at once with AVX-512BW where ``avx512``.
inline int32_t dot_row(const uint8_t* row, const int8_t* planes, int64_t n_bytes, int64_t plane_stride, bool avx2) {
#if defined(__AVX2__)
  if (avx2) return dot_row_avx2(row, planes, n_bytes, plane_stride);
#endif
  return dot_row_scalar(row, planes, n_bytes, plane_stride, 0);
}

inline void dot_rows4(const uint8_t* rows, const int8_t* planes, int64_t n_bytes, int64_t plane_stride,
                      int32_t* out, int64_t path) {
  const bool avx2 = path >= ternarylm::kAvx2, avx512 = path >= ternarylm::kAvx512;
  (void)avx2, (void)avx512;
#if defined(__AVX512BW__) && defined(__AVX2__)
  if (avx512) return dot_rows4_avx512(rows, planes, n_bytes, plane_stride, out);
#endif
#if defined(__AVX2__)
  if (avx2) return dot_rows4_avx2(rows, planes, n_bytes, plane_stride, out);
#endif
  for (int r = 0; r < 4; ++r) out[r] = dot_row_scalar(rows + r * n_bytes, planes, n_bytes, plane_stride, 0);
}

// sum_i a[i] * b[i] over 16 independent partial sums, which the compiler turns into vector
// multiply-adds; a single running sum is one chain of dependent adds (4 cycles each), and these
// loops (attention scores, RMSNorm's squares) are short enough that the chain is their whole cost.
// The order of the sum differs from a running sum, so results agree with it to rounding.
inline float dot_f32(const float* a, const float* b, int64_t n) {
  constexpr int64_t kLanes = 16;
  float part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) part[l] += a[i + l] * b[i + l];
  }
  float total = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l) total += part[l];
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

// max_i |x[i]| over 16 independent partial maxima: exactly the running maximum (max is exact in any
// order), without its chain of dependent compares.
inline float abs_max(const float* x, int64_t n) {
  constexpr int64_t kLanes = 16;
  float part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) part[l] = std::max(part[l], std::fabs(x[i + l]));
  }
  float top = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l) top = std::max(top, part[l]);
  for (; i < n; ++i) top = std::max(top, std::fabs(x[i]));
  return top;
}

// One token's integer outputs for the row groups [begin, end) of a packed matrix: rows 4g..4g+3
// (dot_rows4), the last out_features % 4 rows one by one; x_sum is the token's activation sum.
inline void dot_groups(const uint8_t* wp, int64_t n_bytes, int64_t out_features, const int8_t* planes,
                       int64_t plane_stride, int32_t x_sum, int64_t begin, int64_t end, int32_t* y, int64_t path) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX2__)
  if (path >= ternarylm::kAvx512Vnni) return dot_groups_vnni(wp, n_bytes, out_features, planes, plane_stride, x_sum, begin, end, y);
#endif
  int32_t sums[4];
  for (int64_t g = begin; g < end; ++g) {
    const int64_t o = 4 * g;
    if (o + 4 <= out_features) {
      dot_rows4(wp + o * n_bytes, planes, n_bytes, plane_stride, sums, path);
      for (int r = 0; r < 4; ++r) y[o + r] = sums[r] - x_sum;
    } else {
      for (int64_t r = o; r < out_features; ++r) y[r] = dot_row(wp + r * n_bytes, planes, n_bytes, plane_stride, path >= ternarylm::kAvx2) - x_sum;
    }
  }
}

// The activation code of one value: clamp(round-half-even(value / scale), -qmax - 1, qmax), the
// arithmetic of pipeline.model.quant.activation_codes (scale = max(absmax, eps) / qmax).
inline int8_t activation_code(float value, float scale, float qmax) {
  const float q = std::nearbyint(value / scale);  // the default rounding mode: half to even, as torch.round
  return static_cast<int8_t>(std::min(std::max(q, -qmax - 1.0f), qmax));
}

inline float activation_scale(const float* x, int64_t n, float qmax, float eps) {
  return std::max(abs_max(x, n), eps) / qmax;
}

// Split one token's activations into the four planes (zero-padded) and return their sum.
int32_t split_planes(const int8_t* x, int64_t in_features, int64_t plane_stride, int8_t* planes) {
  int32_t total = 0;
  for (int64_t i = 0; i < in_features; ++i) {
    planes[(i & 3) * plane_stride + (i >> 2)] = x[i];
    total += x[i];
  }
  return total;
}

}  // namespace

// y[t, o] = sum_i code[o, i] * x[t, i], exactly, in int32.
// x_codes: int8 (T, in_features); packed: uint8 (out, ceil(in_features / 4)). Returns int32 (T, out).
torch::Tensor ternary_linear_int8(const torch::Tensor& x_codes, const torch::Tensor& packed, int64_t in_features) {
  TORCH_CHECK(x_codes.device().is_cpu() && packed.device().is_cpu(), "ternary_linear_int8 runs on CPU tensors");
  TORCH_CHECK(x_codes.scalar_type() == torch::kInt8 && x_codes.dim() == 2, "x_codes must be int8 (T, in)");
  TORCH_CHECK(packed.scalar_type() == torch::kUInt8 && packed.dim() == 2, "packed must be uint8 (out, bytes)");
  TORCH_CHECK(in_features >= 0 && x_codes.size(1) == in_features, "x_codes has ", x_codes.size(1),
              " features, expected in_features=", in_features);
  const int64_t n_bytes = (in_features + 3) / 4;
  TORCH_CHECK(packed.size(1) == n_bytes, "packed rows hold ", packed.size(1), " bytes, in_features=",
              in_features, " needs ", n_bytes);
  // |sum| <= 128 * 3 * in_features must fit int32 (the pmaddubsw fields go up to 3, not just 2).
  TORCH_CHECK(in_features <= (int64_t{1} << 22), "in_features too large for int32 accumulation");

  const torch::Tensor x = x_codes.contiguous();
  const torch::Tensor w = packed.contiguous();
  const int64_t tokens = x.size(0);
  const int64_t out_features = w.size(0);
  torch::Tensor y = torch::empty({tokens, out_features}, torch::kInt32);
  if (tokens == 0 || out_features == 0) return y;

  // Planes for all tokens, built once (O(T * in)) and shared read-only by every thread.
  const int64_t plane_stride = n_bytes;
  std::vector<int8_t> planes(static_cast<size_t>(tokens * 4 * plane_stride), 0);
  std::vector<int32_t> x_sums(static_cast<size_t>(tokens));
  const int8_t* xp = x.data_ptr<int8_t>();
  for (int64_t t = 0; t < tokens; ++t) {
    x_sums[t] = split_planes(xp + t * in_features, in_features, plane_stride, planes.data() + t * 4 * plane_stride);
  }

  const uint8_t* wp = w.data_ptr<uint8_t>();
  int32_t* yp = y.data_ptr<int32_t>();
  const int64_t path = ternarylm::g_path;
  // Threads split the output rows; each row is read once and reused for every token while it is in
  // L1. The grain keeps a chunk at >= ~16 KiB of weights so small layers do not pay thread start-up.
  // Work is split in groups of four rows (dot_rows4); the last out_features % 4 rows go one by one.
  const int64_t groups = (out_features + 3) / 4;
  const int64_t grain = std::max<int64_t>(1, (int64_t{16} << 10) / std::max<int64_t>(1, 4 * n_bytes * tokens));
  at::parallel_for(0, groups, grain, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {  // each group of rows once, for every token while in L1
      for (int64_t t = 0; t < tokens; ++t) {
        dot_groups(wp, n_bytes, out_features, planes.data() + t * 4 * plane_stride, plane_stride, x_sums[t], g, g + 1,
                   yp + t * out_features, path);
      }
    }
  });
  return y;
}

// The whole float-in, float-out layer in one call, for decoding: per-token absmax quantization of x
// to signed act_bits integers (the arithmetic of pipeline.model.quant.activation_codes: scale =
// max(absmax, eps) / qmax, code = clamp(round-half-even(x / scale), -qmax - 1, qmax)), the exact
// integer matmul above, and the rescale y = int * (x_scale * alpha). alpha is the layer's scale, or
// row_scale[o] when row_scale is not empty: one alpha per output row, so layers that share an input
// (q, k, v; gate and up) run as one matrix.
// x: float32 (T, in); packed: uint8 (out, ceil(in / 4)); row_scale: float32 (out) or empty. Returns float32 (T, out).
torch::Tensor ternary_linear_fused(const torch::Tensor& x_float, const torch::Tensor& packed, int64_t in_features,
                                   double alpha, const torch::Tensor& row_scale, int64_t act_bits, double eps) {
  TORCH_CHECK(x_float.device().is_cpu() && x_float.scalar_type() == torch::kFloat32 && x_float.dim() == 2,
              "x must be float32 (T, in) on the CPU");
  TORCH_CHECK(row_scale.numel() == 0 || (row_scale.scalar_type() == torch::kFloat32 && row_scale.dim() == 1 &&
                                          row_scale.size(0) == packed.size(0)),
              "row_scale must be float32 (out) or empty");
  TORCH_CHECK(act_bits >= 2 && act_bits <= 8, "act_bits must be in 2..8");
  TORCH_CHECK(x_float.size(1) == in_features, "x has ", x_float.size(1), " features, expected ", in_features);
  const torch::Tensor x = x_float.contiguous();
  const int64_t tokens = x.size(0);
  const float qmax = static_cast<float>((1 << (act_bits - 1)) - 1);
  torch::Tensor codes = torch::empty({tokens, in_features}, torch::kInt8);
  std::vector<float> x_scale(static_cast<size_t>(tokens));
  const float* xp = x.data_ptr<float>();
  int8_t* cp = codes.data_ptr<int8_t>();
  for (int64_t t = 0; t < tokens; ++t) {
    const float* row = xp + t * in_features;
    const float scale = x_scale[t] = activation_scale(row, in_features, qmax, static_cast<float>(eps));
    for (int64_t i = 0; i < in_features; ++i) cp[t * in_features + i] = activation_code(row[i], scale, qmax);
  }
  const torch::Tensor integers = ternary_linear_int8(codes, packed, in_features);
  torch::Tensor y = torch::empty({tokens, packed.size(0)}, torch::kFloat32);
  const int32_t* ip = integers.data_ptr<int32_t>();
  const torch::Tensor rows = row_scale.contiguous();
  const float* sp = rows.numel() ? rows.data_ptr<float>() : nullptr;
  const float layer_alpha = static_cast<float>(alpha);
  float* yp = y.data_ptr<float>();
  const int64_t out_features = packed.size(0);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t o = 0; o < out_features; ++o) {
      yp[t * out_features + o] = static_cast<float>(ip[t * out_features + o]) * (x_scale[t] * (sp ? sp[o] : layer_alpha));
    }
  }
  return y;
}

// y = x @ W.T + bias with W held in bf16, for the output head while decoding: x is rounded to bf16
// (round to nearest even, as torch's .to(torch.bfloat16)), products are summed in fp32, and y stays
// fp32 (torch's bf16 matmul would round the logits to bf16 as well). The head is the largest matrix
// read per token (30522 x 768 x 2 bytes = 47 MB), so this is a memory-bound GEMV: threads split rows.
namespace {

inline uint16_t to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // NaN stays NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

inline float from_bf16(uint16_t value) {
  const uint32_t bits = static_cast<uint32_t>(value) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

inline float dot_bf16(const uint16_t* w, const uint16_t* x, int64_t n, int64_t path) {
  int64_t i = 0;
  float total = 0.0f;
#if defined(__AVX512BF16__)
  if (path >= ternarylm::kAvx512Bf16) {
    __m512 acc = _mm512_setzero_ps();
    for (; i + 32 <= n; i += 32) {
      const __m512i wv = _mm512_loadu_si512(reinterpret_cast<const void*>(w + i));
      const __m512i xv = _mm512_loadu_si512(reinterpret_cast<const void*>(x + i));
      acc = _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(wv), reinterpret_cast<__m512bh>(xv));
    }
    total = _mm512_reduce_add_ps(acc);
  }
#endif
#if defined(__AVX2__)
  if (path >= ternarylm::kAvx2 && path < ternarylm::kAvx512Bf16) {  // AVX-512 without BF16: the AVX2 loop
    __m256 acc = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {  // widen 8 bf16 to fp32 by shifting them into the high halves
      const __m256i wv = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i))), 16);
      const __m256i xv = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))), 16);
      acc = _mm256_fmadd_ps(_mm256_castsi256_ps(wv), _mm256_castsi256_ps(xv), acc);
    }
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    sum = _mm_hadd_ps(sum, sum);
    sum = _mm_hadd_ps(sum, sum);
    total = _mm_cvtss_f32(sum);
  }
#endif
  for (; i < n; ++i) total += from_bf16(w[i]) * from_bf16(x[i]);
  return total;
}

}  // namespace

// x: float32 (T, in); weight: bfloat16 (out, in); bias: float32 (out) or empty. Returns float32 (T, out).
torch::Tensor bf16_linear(const torch::Tensor& x_float, const torch::Tensor& weight, const torch::Tensor& bias) {
  TORCH_CHECK(x_float.device().is_cpu() && x_float.scalar_type() == torch::kFloat32 && x_float.dim() == 2,
              "x must be float32 (T, in) on the CPU");
  TORCH_CHECK(weight.scalar_type() == torch::kBFloat16 && weight.dim() == 2 && weight.size(1) == x_float.size(1),
              "weight must be bfloat16 (out, in) matching x");
  TORCH_CHECK(bias.numel() == 0 || (bias.scalar_type() == torch::kFloat32 && bias.numel() == weight.size(0)),
              "bias must be float32 (out) or empty");
  const torch::Tensor x = x_float.contiguous();
  const torch::Tensor w = weight.contiguous();
  const int64_t tokens = x.size(0), in_features = x.size(1), out_features = w.size(0);
  std::vector<uint16_t> xb(static_cast<size_t>(tokens * in_features));
  const float* xp = x.data_ptr<float>();
  for (int64_t i = 0; i < tokens * in_features; ++i) xb[i] = to_bf16(xp[i]);
  const uint16_t* wp = reinterpret_cast<const uint16_t*>(w.data_ptr<at::BFloat16>());
  const float* bp = bias.numel() ? bias.contiguous().data_ptr<float>() : nullptr;
  torch::Tensor y = torch::empty({tokens, out_features}, torch::kFloat32);
  float* yp = y.data_ptr<float>();
  const int64_t grain = std::max<int64_t>(1, (int64_t{32} << 10) / std::max<int64_t>(1, in_features * 2));
  const int64_t path = ternarylm::g_path;
  at::parallel_for(0, out_features, grain, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      for (int64_t t = 0; t < tokens; ++t) {
        yp[t * out_features + o] = dot_bf16(wp + o * in_features, xb.data() + t * in_features, in_features, path)
                                   + (bp ? bp[o] : 0.0f);
      }
    }
  });
  return y;
}

namespace {

inline void rms_norm_row(const float* row, const float* weight, int64_t dim, float eps, float* out) {
  const float squares = dot_f32(row, row, dim);
  const float inv = 1.0f / std::sqrt(squares / static_cast<float>(dim) + eps);
  for (int64_t i = 0; i < dim; ++i) out[i] = row[i] * inv * weight[i];
}

}  // namespace

// RMSNorm of each row of x (float32 (..., dim)): x / sqrt(mean(x^2) + eps) * weight, as nn.RMSNorm
// computes it (sum of squares in fp32; the order of the sum differs, so results agree to rounding).
// One call instead of the ~6 small ops torch dispatches per norm while decoding.
torch::Tensor rms_norm(const torch::Tensor& x_float, const torch::Tensor& weight, double eps) {
  TORCH_CHECK(x_float.device().is_cpu() && x_float.scalar_type() == torch::kFloat32, "x must be float32 on the CPU");
  TORCH_CHECK(weight.scalar_type() == torch::kFloat32 && weight.dim() == 1 && weight.size(0) == x_float.size(-1),
              "weight must be float32 (dim)");
  const torch::Tensor x = x_float.contiguous();
  const int64_t dim = x.size(-1), rows = x.numel() / std::max<int64_t>(dim, 1);
  torch::Tensor y = torch::empty_like(x);
  const float* xp = x.data_ptr<float>();
  const float* wp = weight.contiguous().data_ptr<float>();
  float* yp = y.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) rms_norm_row(xp + r * dim, wp, dim, static_cast<float>(eps), yp + r * dim);
  return y;
}

namespace {

// The rotary formula for one head vector: channel pairs (i, i + half) turned by (cos_i, sin_i).
inline void rotate_pairs(const float* a, const float* c, const float* s, int64_t half, float* out) {
  for (int64_t i = 0; i < half; ++i) {
    out[i] = a[i] * c[i] - a[half + i] * s[i];
    out[half + i] = a[i] * s[i] + a[half + i] * c[i];
  }
}

}  // namespace

// Rotary embedding of x (float32 (batch, heads, time, head_dim)) with tables cos, sin (time, head_dim / 2):
// the half-split rotation of pipeline.model.transformer.apply_rotary, (a, b) -> (a cos - b sin, a sin + b cos).
torch::Tensor rotary(const torch::Tensor& x_float, const torch::Tensor& cos, const torch::Tensor& sin) {
  TORCH_CHECK(x_float.scalar_type() == torch::kFloat32 && x_float.dim() == 4, "x must be float32 (B, H, T, D)");
  const torch::Tensor x = x_float.contiguous();
  const int64_t outer = x.size(0) * x.size(1), time = x.size(2), half = x.size(3) / 2;
  TORCH_CHECK(cos.size(0) == time && cos.size(1) == half && sin.sizes() == cos.sizes(), "tables must be (T, D / 2)");
  const torch::Tensor c = cos.to(torch::kFloat32).contiguous(), s = sin.to(torch::kFloat32).contiguous();
  torch::Tensor y = torch::empty_like(x);
  const float* xp = x.data_ptr<float>();
  const float* cp = c.data_ptr<float>();
  const float* sp = s.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t t = 0; t < time; ++t) {
      rotate_pairs(xp + (o * time + t) * 2 * half, cp + t * half, sp + t * half, half, yp + (o * time + t) * 2 * half);
    }
  }
  return y;
}

namespace {

// Single-query attention of one head over `length` cached positions (keys and values: (length,
// head_dim) rows): softmax(q . k_j / sqrt(head_dim)) weighted sum of v_j, max-subtracted, in fp32.
void attend_one_query(const float* q, const float* keys, const float* values, int64_t length, int64_t head_dim,
                      float* out) {
  std::vector<float> scores(static_cast<size_t>(length));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  float top = -INFINITY;
  for (int64_t j = 0; j < length; ++j) {
    scores[j] = dot_f32(q, keys + j * head_dim, head_dim) * scale;
    top = std::max(top, scores[j]);
  }
  float total = 0.0f;
  for (int64_t j = 0; j < length; ++j) total += (scores[j] = std::exp(scores[j] - top));
  std::fill(out, out + head_dim, 0.0f);
  for (int64_t j = 0; j < length; ++j) {
    const float weight = scores[j] / total;
    for (int64_t d = 0; d < head_dim; ++d) out[d] += weight * values[j * head_dim + d];
  }
}

// Head h of the block's one token: rotate its q and k, write k and v at `position` of its cache rows
// (keys, values: (heads, max_len, head_dim)) and attend over positions 0..position into out[h * head_dim ...].
void attend_head(int64_t h, const float* qkv, const float* cos, const float* sin, float* keys, float* values,
                 int64_t heads, int64_t max_len, int64_t head_dim, int64_t position, float* out) {
  const int64_t dim = heads * head_dim;
  float* k_layer = keys + h * max_len * head_dim;
  float* v_layer = values + h * max_len * head_dim;
  std::vector<float> q(static_cast<size_t>(head_dim));
  rotate_pairs(qkv + h * head_dim, cos, sin, head_dim / 2, q.data());
  rotate_pairs(qkv + dim + h * head_dim, cos, sin, head_dim / 2, k_layer + position * head_dim);
  std::memcpy(v_layer + position * head_dim, qkv + 2 * dim + h * head_dim, static_cast<size_t>(head_dim) * sizeof(float));
  attend_one_query(q.data(), k_layer, v_layer, position + 1, head_dim, out + h * head_dim);
}

// Attention of the block's one token: rotate q and k of every head, write k and v at `position`
// of this layer's cache (heads, max_len, head_dim) and attend over positions 0..position. qkv holds
// q, k, v of head h at h * head_dim within each third. Returns the heads' outputs, (1, dim).
torch::Tensor cached_attention(const float* qkv, const float* cos, const float* sin, torch::Tensor& keys,
                               torch::Tensor& values, int64_t position) {
  const int64_t heads = keys.size(0), max_len = keys.size(1), head_dim = keys.size(2), dim = heads * head_dim;
  float* kp = keys.data_ptr<float>();
  float* vp = values.data_ptr<float>();
  torch::Tensor attended = torch::empty({1, dim}, torch::kFloat32);
  for (int64_t h = 0; h < heads; ++h) attend_head(h, qkv, cos, sin, kp, vp, heads, max_len, head_dim, position,
                                                  attended.data_ptr<float>());
  return attended;
}

// out[i] = silu(gate[i]) * up[i] for i in [begin, end), gate_up = (gate, up) of width hidden each.
inline void silu_mul(const float* gate_up, int64_t hidden, int64_t begin, int64_t end, float* out) {
  for (int64_t i = begin; i < end; ++i) out[i] = gate_up[i] / (1.0f + std::exp(-gate_up[i])) * gate_up[hidden + i];
}

// residual += delta, elementwise (both (1, n) float32).
void add_into(torch::Tensor& residual, const torch::Tensor& delta) {
  float* rp = residual.data_ptr<float>();
  const float* dp = delta.data_ptr<float>();
  for (int64_t i = 0; i < residual.numel(); ++i) rp[i] += dp[i];
}

}  // namespace

// One decoding step of one transformer block for one token (batch 1) in a single call: what
// pipeline.model.transformer.Block computes in eval mode from the kernel's layers (the same functions: rms_norm,
// ternary_linear_fused, the rotary formula), with the new key and value written into this layer's
// preallocated cache at `position` and single-query attention over positions 0..position. Decoding
// from Python dispatched ~20 small torch ops per block besides the matmuls; this removes them.
// x: float32 (1, dim). qkv (3 dim rows) and w13 (2 hidden rows) are stacked layers with one alpha
// per row (qkv_rows, w13_rows); wo and w2 have one alpha each. cos, sin: (1, head_dim / 2).
// keys, values: float32 (heads, max_len, head_dim), contiguous, written in place. Returns (1, dim).
torch::Tensor decode_block(const torch::Tensor& x, const torch::Tensor& attn_norm, double attn_eps,
                           const torch::Tensor& mlp_norm, double mlp_eps, const torch::Tensor& qkv,
                           const torch::Tensor& qkv_rows, const torch::Tensor& wo, double wo_alpha,
                           const torch::Tensor& w13, const torch::Tensor& w13_rows, const torch::Tensor& w2,
                           double w2_alpha, const torch::Tensor& cos, const torch::Tensor& sin, torch::Tensor keys,
                           torch::Tensor values, int64_t position, int64_t act_bits, double act_eps) {
  TORCH_CHECK(x.scalar_type() == torch::kFloat32 && x.dim() == 2 && x.size(0) == 1, "x must be float32 (1, dim)");
  TORCH_CHECK(keys.scalar_type() == torch::kFloat32 && keys.dim() == 3 && keys.is_contiguous() &&
              values.sizes() == keys.sizes() && values.scalar_type() == torch::kFloat32 && values.is_contiguous(),
              "keys and values must be contiguous float32 (heads, max_len, head_dim)");
  const int64_t dim = x.size(1), head_dim = keys.size(2), hidden = w13.size(0) / 2;
  TORCH_CHECK(keys.size(0) * head_dim == dim && head_dim % 2 == 0, "the cache's heads x head_dim must equal dim");
  TORCH_CHECK(position >= 0 && position < keys.size(1), "position ", position, " is outside the cache (",
              keys.size(1), ")");
  TORCH_CHECK(qkv.size(0) == 3 * dim && w13.size(0) == 2 * hidden && w2.size(0) == dim, "layer shapes do not match dim");
  TORCH_CHECK(cos.numel() == head_dim / 2 && sin.numel() == head_dim / 2, "rotary tables must hold head_dim / 2 values");
  const torch::Tensor no_rows = torch::empty({0}, torch::kFloat32);
  const torch::Tensor c = cos.to(torch::kFloat32).contiguous(), s = sin.to(torch::kFloat32).contiguous();

  const torch::Tensor q_k_v = ternary_linear_fused(rms_norm(x, attn_norm, attn_eps), qkv, dim, 0.0, qkv_rows,
                                                   act_bits, act_eps);
  const torch::Tensor attended = cached_attention(q_k_v.data_ptr<float>(), c.data_ptr<float>(), s.data_ptr<float>(),
                                                  keys, values, position);
  torch::Tensor residual = x.contiguous().clone();
  add_into(residual, ternary_linear_fused(attended, wo, dim, wo_alpha, no_rows, act_bits, act_eps));

  const torch::Tensor gate_up = ternary_linear_fused(rms_norm(residual, mlp_norm, mlp_eps), w13, dim, 0.0, w13_rows,
                                                     act_bits, act_eps);
  const float* gp = gate_up.data_ptr<float>();
  torch::Tensor gated = torch::empty({1, hidden}, torch::kFloat32);
  float* hp = gated.data_ptr<float>();
  silu_mul(gp, hidden, 0, hidden, hp);
  add_into(residual, ternary_linear_fused(gated, w2, hidden, w2_alpha, no_rows, act_bits, act_eps));
  return residual;
}

// The decoding step of a whole stack of blocks for one token, in one call from Python: the blocks'
// weights are taken once (at construction) and every step runs decode_block over them in order, each
// block's key and value rows written into its slice of the stacked cache. Per token Python then makes
// one call instead of one per block, each with some twenty arguments to convert and as many module
// attribute lookups; the arithmetic is decode_block's, so the result is the same bit for bit.
// tensors: per block, in order, attn_norm, mlp_norm, qkv, qkv_rows, wo, w13, w13_rows, w2 (8 each);
// scalars: per block attn_eps, mlp_eps, wo_alpha, w2_alpha (4 each).
class DecodeStack {
 public:
  static constexpr size_t kTensors = 8, kScalars = 4;

  DecodeStack(std::vector<torch::Tensor> tensors, std::vector<double> scalars, int64_t act_bits, double act_eps)
      : tensors_(std::move(tensors)), scalars_(std::move(scalars)), act_bits_(act_bits), act_eps_(act_eps) {
    TORCH_CHECK(!tensors_.empty() && tensors_.size() % kTensors == 0 && scalars_.size() * kTensors == tensors_.size() * kScalars,
                "DecodeStack takes 8 tensors and 4 scalars per block, got ", tensors_.size(), " and ", scalars_.size());
    TORCH_CHECK(act_bits_ >= 2 && act_bits_ <= 8, "act_bits must be in 2..8");
    // step reads the weights through raw pointers on every thread: their types and layout are fixed here
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const torch::Tensor& w = tensors_[i];
      const size_t role = i % kTensors;
      const bool codes = role == 2 || role == 4 || role == 5 || role == 7;
      TORCH_CHECK(w.device().is_cpu() && w.is_contiguous() && w.dim() == (codes ? 2 : 1) &&
                  w.scalar_type() == (codes ? torch::kUInt8 : torch::kFloat32),
                  "DecodeStack tensor ", i, " (block ", i / kTensors, ", role ", role, ") must be a contiguous CPU ",
                  codes ? "uint8 (out, bytes) matrix" : "float32 vector");
    }
    for (int64_t b = 0; b < blocks(); ++b) {
      const torch::Tensor* w = tensors_.data() + b * kTensors;
      TORCH_CHECK(w[3].size(0) == w[2].size(0) && w[6].size(0) == w[5].size(0), "block ", b,
                  ": one row alpha per stacked row");
    }
  }

  int64_t blocks() const { return static_cast<int64_t>(tensors_.size() / kTensors); }

  // x: float32 (1, dim); cos, sin: (1, head_dim / 2); keys, values: float32 (blocks, heads, max_len,
  // head_dim), contiguous, written in place at `position`. Returns the last block's output, (1, dim).
  //
  // The threads (torch's intra-op count) stay in one parallel region for the whole step instead of
  // starting one per matmul (48 per token on the 132M model): each thread keeps its own copy of the
  // residual stream and quantizes each matmul's input itself (a few microseconds of work that a
  // hand-over would cost as much as), computes its share of the output rows, and the threads meet
  // at a barrier wherever the next part needs every row: after each matmul, after the attention
  // (heads split between threads) and after silu(gate) * up. Every number is computed by the same
  // functions as decode_block's, in the same order, so the result is decode_block's bit for bit.
  torch::Tensor step(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, torch::Tensor keys,
                     torch::Tensor values, int64_t position) const {
    TORCH_CHECK(keys.dim() == 4 && keys.size(0) == blocks() && keys.is_contiguous() && values.sizes() == keys.sizes() &&
                values.is_contiguous() && keys.scalar_type() == torch::kFloat32 &&
                values.scalar_type() == torch::kFloat32,
                "keys and values must be contiguous float32 (blocks, heads, max_len, head_dim) with ", blocks(), " blocks");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && x.dim() == 2 && x.size(0) == 1, "x must be float32 (1, dim)");
    const int64_t heads = keys.size(1), max_len = keys.size(2), head_dim = keys.size(3), dim = x.size(1);
    const int64_t hidden = tensors_[5].size(0) / 2;
    TORCH_CHECK(heads * head_dim == dim && head_dim % 2 == 0, "the cache's heads x head_dim must equal dim");
    TORCH_CHECK(position >= 0 && position < max_len, "position ", position, " is outside the cache (", max_len, ")");
    TORCH_CHECK(cos.numel() == head_dim / 2 && sin.numel() == head_dim / 2, "rotary tables must hold head_dim / 2 values");
    for (int64_t b = 0; b < blocks(); ++b) {
      const torch::Tensor* w = tensors_.data() + b * kTensors;
      const int64_t dim_bytes = (dim + 3) / 4;
      TORCH_CHECK(w[2].size(0) == 3 * dim && w[5].size(0) == 2 * hidden && w[4].size(0) == dim && w[7].size(0) == dim &&
                  w[2].size(1) == dim_bytes && w[4].size(1) == dim_bytes && w[5].size(1) == dim_bytes &&
                  w[7].size(1) == (hidden + 3) / 4 && w[0].size(0) == dim && w[1].size(0) == dim,
                  "block ", b, ": layer shapes do not match dim ", dim, " and hidden ", hidden);
    }
    const torch::Tensor c = cos.to(torch::kFloat32).contiguous(), s = sin.to(torch::kFloat32).contiguous();
    const torch::Tensor input = x.contiguous();
    std::vector<float> qkv_out(3 * dim), attended(dim), wo_out(dim), gate_up(2 * hidden), gated(hidden), w2_out(dim);
    torch::Tensor y = torch::empty({1, dim}, torch::kFloat32);
    const Shared shared{qkv_out.data(), attended.data(), wo_out.data(), gate_up.data(), gated.data(), w2_out.data(),
                        c.data_ptr<float>(), s.data_ptr<float>(), keys.data_ptr<float>(), values.data_ptr<float>(),
                        heads, max_len, head_dim, dim, hidden, position};
    const int threads = static_cast<int>(std::max<int64_t>(1, at::get_num_threads()));
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
    run_thread(omp_get_thread_num(), omp_get_num_threads(), input.data_ptr<float>(), shared, y.data_ptr<float>());
#else
    (void)threads;
    run_thread(0, 1, input.data_ptr<float>(), shared, y.data_ptr<float>());
#endif
    return y;
  }

 private:
  // What the threads of one step share: the outputs every thread writes its rows of and reads whole
  // after a barrier, the rotary tables, the stacked cache and the shapes.
  struct Shared {
    float *qkv, *attended, *wo, *gate_up, *gated, *w2;
    const float *cos, *sin;
    float *keys, *values;
    int64_t heads, max_len, head_dim, dim, hidden, position;
  };

  // [begin, end) of n items for thread `tid` of `count`, in contiguous shares.
  static std::pair<int64_t, int64_t> share(int64_t n, int tid, int count) {
    return {n * tid / count, n * (tid + 1) / count};
  }

  static void barrier() {
#if defined(_OPENMP)
#pragma omp barrier
#endif
  }

  // One matmul of the step from this thread: quantize the input (ternary_linear_fused's arithmetic)
  // into this thread's planes, then the integer dot products and the rescale of its share of the
  // output rows, written into `out`. alpha: the layer's scale, or per row from `row_alpha` when not null.
  void matmul_share(const float* in, int64_t in_features, const torch::Tensor& packed, const float* row_alpha,
                    double alpha, int tid, int count, std::vector<int8_t>& planes, std::vector<int32_t>& ints,
                    float* out) const {
    const float qmax = static_cast<float>((1 << (act_bits_ - 1)) - 1);
    const int64_t n_bytes = (in_features + 3) / 4, out_features = packed.size(0);
    const float scale = activation_scale(in, in_features, qmax, static_cast<float>(act_eps_));
    int32_t x_sum = 0;
    for (int64_t i = 0; i < in_features; ++i) {
      const int8_t code = activation_code(in[i], scale, qmax);
      planes[(i & 3) * n_bytes + (i >> 2)] = code;
      x_sum += code;
    }
    for (int64_t i = in_features; i < 4 * n_bytes; ++i) planes[(i & 3) * n_bytes + (i >> 2)] = 0;
    const auto [begin, end] = share((out_features + 3) / 4, tid, count);
    dot_groups(packed.data_ptr<uint8_t>(), n_bytes, out_features, planes.data(), n_bytes, x_sum, begin, end,
               ints.data(), ternarylm::g_path);
    const float layer_alpha = static_cast<float>(alpha);
    for (int64_t o = 4 * begin; o < std::min(4 * end, out_features); ++o) {
      out[o] = static_cast<float>(ints[o]) * (scale * (row_alpha ? row_alpha[o] : layer_alpha));
    }
  }

  // Thread `tid` of `count` through every block (see step); thread 0 writes the output.
  void run_thread(int tid, int count, const float* x, const Shared& sh, float* y) const {
    const int64_t dim = sh.dim, hidden = sh.hidden;
    std::vector<float> residual(x, x + dim), normed(std::max(dim, hidden));
    std::vector<int8_t> planes(4 * ((std::max(dim, hidden) + 3) / 4));
    std::vector<int32_t> ints(std::max(3 * dim, 2 * hidden));
    const int64_t layer_cache = sh.heads * sh.max_len * sh.head_dim;
    for (int64_t b = 0; b < blocks(); ++b) {
      const torch::Tensor* w = tensors_.data() + b * kTensors;
      const double* v = scalars_.data() + b * kScalars;
      rms_norm_row(residual.data(), w[0].data_ptr<float>(), dim, static_cast<float>(v[0]), normed.data());
      matmul_share(normed.data(), dim, w[2], w[3].data_ptr<float>(), 0.0, tid, count, planes, ints, sh.qkv);
      barrier();
      const auto [h0, h1] = share(sh.heads, tid, count);
      for (int64_t h = h0; h < h1; ++h) {
        attend_head(h, sh.qkv, sh.cos, sh.sin, sh.keys + b * layer_cache, sh.values + b * layer_cache, sh.heads,
                    sh.max_len, sh.head_dim, sh.position, sh.attended);
      }
      barrier();
      matmul_share(sh.attended, dim, w[4], nullptr, v[2], tid, count, planes, ints, sh.wo);
      barrier();
      for (int64_t i = 0; i < dim; ++i) residual[i] += sh.wo[i];
      rms_norm_row(residual.data(), w[1].data_ptr<float>(), dim, static_cast<float>(v[1]), normed.data());
      matmul_share(normed.data(), dim, w[5], w[6].data_ptr<float>(), 0.0, tid, count, planes, ints, sh.gate_up);
      barrier();
      const auto [i0, i1] = share(hidden, tid, count);
      silu_mul(sh.gate_up, hidden, i0, i1, sh.gated);
      barrier();
      matmul_share(sh.gated, hidden, w[7], nullptr, v[3], tid, count, planes, ints, sh.w2);
      barrier();
      for (int64_t i = 0; i < dim; ++i) residual[i] += sh.w2[i];
    }
    if (tid == 0) std::copy(residual.begin(), residual.end(), y);
  }

  std::vector<torch::Tensor> tensors_;
  std::vector<double> scalars_;
  int64_t act_bits_;
  double act_eps_;
};

// The paths compiled in, narrowest first ("scalar" always).
std::vector<std::string> compiled_paths() {
  std::vector<std::string> names;
  for (int64_t p = ternarylm::kScalar; p <= ternarylm::widest_compiled(); ++p) names.emplace_back(ternarylm::kPathNames[p]);
  return names;
}

// The path in force (one of kPathNames).
std::string current_path() { return ternarylm::kPathNames[ternarylm::g_path]; }

// Run the inner loops of `name` (one compiled in) from the next call on.
void set_path(const std::string& name) {
  for (int64_t p = ternarylm::kScalar; p <= ternarylm::widest_compiled(); ++p) {
    if (name == ternarylm::kPathNames[p]) {
      ternarylm::g_path = p;
      return;
    }
  }
  TORCH_CHECK(false, "kernel path '", name, "' is not compiled in; compiled: ", c10::Join(", ", compiled_paths()));
}

// int8_head.cpp: the output head in int8 with one scale per row.
torch::Tensor int8_linear(const torch::Tensor& x_float, const torch::Tensor& weight, const torch::Tensor& row_scale,
                          const torch::Tensor& bias, double eps);

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("ternary_linear_int8", &ternary_linear_int8,
        "int32 (T, out) = int8 x (T, in) times 2-bit packed ternary weights (out, ceil(in/4)), exact");
  m.def("ternary_linear_fused", &ternary_linear_fused,
        "float32 (T, out) = rescaled int8-quantized x (T, in) times 2-bit packed ternary weights, one call");
  m.def("bf16_linear", &bf16_linear, "float32 (T, out) = x (T, in) times bf16 weight (out, in) + fp32 bias");
  m.def("int8_linear", &int8_linear,
        "float32 (T, out) = int8-quantized x (T, in) times int8 weight (out, in), rescaled per row, + fp32 bias");
  m.def("rms_norm", &rms_norm, "RMSNorm of each row of float32 x with float32 weight");
  m.def("rotary", &rotary, "half-split rotary embedding of float32 (B, H, T, D) with (T, D / 2) tables");
  m.def("decode_block", &decode_block, "one block's decoding step for one token, cache written in place");
  py::class_<DecodeStack>(m, "DecodeStack", "one token's decoding step through every block, in one call")
      .def(py::init<std::vector<torch::Tensor>, std::vector<double>, int64_t, double>())
      .def("blocks", &DecodeStack::blocks)
      .def("step", &DecodeStack::step, "the stack's output for one token, the cache written in place");
  m.def("compiled_paths", &compiled_paths, "the inner-loop paths compiled in, narrowest first");
  m.def("current_path", &current_path, "the inner-loop path in force");
  m.def("set_path", &set_path, "run the inner loops of one compiled-in path from the next call on");
}
