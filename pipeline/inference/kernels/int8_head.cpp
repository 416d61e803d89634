// The output head in int8 with one fp32 scale per row (llama.cpp's Q8_0 stores one per 32 values),
// for batch-1 decoding: the head is the largest matrix read per token (30522 x 768: 47 MB in bf16,
// 23 MB here), so halving its bytes is what moves the decode floor.
//
// Arithmetic: per token, absmax quantization of x to int8 (scale = max(absmax, eps) / 127, code =
// round-half-even(x / scale), as pipeline.model.quant.activation_codes with 8 bits), an exact int32
// dot product with each weight row, then y[o] = float(dot) * (x_scale * row_scale[o]) + bias[o].
// Weights are symmetric in [-127, 127] (pipeline.inference.layers.quantize_rows), which the AVX2 sign
// trick below needs.

#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

// ternary_cpu.cpp: the inner-loop path in force (0 scalar, 1 AVX2 and wider).
int64_t kernel_path();

namespace {

inline int32_t dot_i8_scalar(const int8_t* w, const int8_t* x, int64_t begin, int64_t n) {
  int32_t total = 0;
  for (int64_t i = begin; i < n; ++i) total += static_cast<int32_t>(w[i]) * static_cast<int32_t>(x[i]);
  return total;
}

#if defined(__AVX2__)
// 32 products per step. pmaddubsw multiplies unsigned by signed bytes, so the signs move onto the
// weights: |x| * (w * sign(x)) = w * x. Pairs sum to at most 2 * 128 * 127 in magnitude, inside
// int16; pmaddwd with ones widens to int32 before the row accumulates.
inline __m256i dot_step_i8(const int8_t* w, const int8_t* x) {
  const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

inline int32_t reduce_i32(__m256i acc) {
  __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  sum = _mm_hadd_epi32(sum, sum);
  sum = _mm_hadd_epi32(sum, sum);
  return _mm_cvtsi128_si32(sum);
}
#endif

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
// 64 products per step with VNNI. vpdpbusd multiplies unsigned by signed bytes, so the weights move
// into unsigned range instead: w ^ 0x80 is w + 128 in [1, 255] read as u8, and sum (w + 128) x =
// sum w x + 128 sum x, the second term the token's code sum (x_sum), subtracted once per row. Masked
// loads cover each row's end (a masked-out weight becomes 128 but meets a masked-out activation, 0).
// A lane adds at most 4 * 255 * 128 per step: int32 holds rows far past the entry's bound.
inline void dot_i8_rows4_vnni(const int8_t* w, const int8_t* x, int64_t n, int32_t x_sum, int32_t out[4]) {
  __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t i = 0; i < n; i += 64) {
    const int64_t left = n - i;
    const __mmask64 take = left >= 64 ? ~__mmask64{0} : ((__mmask64{1} << left) - 1);
    const __m512i xv = _mm512_maskz_loadu_epi8(take, x + i);
    for (int r = 0; r < 4; ++r) {
      const __m512i wv = _mm512_xor_si512(_mm512_maskz_loadu_epi8(take, w + r * n + i), flip);
      acc[r] = _mm512_dpbusd_epi32(acc[r], wv, xv);
    }
  }
  for (int r = 0; r < 4; ++r) out[r] = _mm512_reduce_add_epi32(acc[r]) - 128 * x_sum;
}
#endif

// Four rows against one token at once (rows at w, w + n, ...): each activation vector is loaded once
// for the four rows, as the ternary kernel's dot_rows4 does. x_sum: the sum of x's n codes (VNNI only).
inline void dot_i8_rows4(const int8_t* w, const int8_t* x, int64_t n, int32_t x_sum, int32_t out[4], bool avx2,
                         bool vnni) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  if (vnni) return dot_i8_rows4_vnni(w, x, n, x_sum, out);
#endif
  (void)x_sum;
  (void)vnni;
  int64_t i = 0;
  for (int r = 0; r < 4; ++r) out[r] = 0;
#if defined(__AVX2__)
  if (avx2) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (; i + 32 <= n; i += 32) {
      for (int r = 0; r < 4; ++r) acc[r] = _mm256_add_epi32(acc[r], dot_step_i8(w + r * n + i, x + i));
    }
    for (int r = 0; r < 4; ++r) out[r] = reduce_i32(acc[r]);
  }
#endif
  for (int r = 0; r < 4; ++r) out[r] += dot_i8_scalar(w + r * n, x, i, n);
}

inline int32_t dot_i8(const int8_t* w, const int8_t* x, int64_t n, bool avx2) {
  int64_t i = 0;
  int32_t total = 0;
#if defined(__AVX2__)
  if (avx2) {
    __m256i acc = _mm256_setzero_si256();
    for (; i + 32 <= n; i += 32) acc = _mm256_add_epi32(acc, dot_step_i8(w + i, x + i));
    total = reduce_i32(acc);
  }
#endif
  return total + dot_i8_scalar(w, x, i, n);
}

}  // namespace

// x: float32 (T, in); weight: int8 (out, in) in [-127, 127]; row_scale: float32 (out); bias: float32
// (out) or empty. Returns float32 (T, out).
torch::Tensor int8_linear(const torch::Tensor& x_float, const torch::Tensor& weight, const torch::Tensor& row_scale,
                          const torch::Tensor& bias, double eps) {
  TORCH_CHECK(x_float.device().is_cpu() && x_float.scalar_type() == torch::kFloat32 && x_float.dim() == 2,
              "x must be float32 (T, in) on the CPU");
  TORCH_CHECK(weight.scalar_type() == torch::kInt8 && weight.dim() == 2 && weight.size(1) == x_float.size(1),
              "weight must be int8 (out, in) matching x");
  TORCH_CHECK(row_scale.scalar_type() == torch::kFloat32 && row_scale.numel() == weight.size(0),
              "row_scale must be float32 (out)");
  TORCH_CHECK(bias.numel() == 0 || (bias.scalar_type() == torch::kFloat32 && bias.numel() == weight.size(0)),
              "bias must be float32 (out) or empty");
  // |dot| <= 128 * 127 * in must fit int32
  TORCH_CHECK(x_float.size(1) <= (int64_t{1} << 17), "in_features too large for int32 accumulation");
  const torch::Tensor x = x_float.contiguous();
  const torch::Tensor w = weight.contiguous();
  const torch::Tensor scales = row_scale.contiguous();
  const torch::Tensor b = bias.contiguous();
  const int64_t tokens = x.size(0), in_features = x.size(1), out_features = w.size(0);

  std::vector<int8_t> codes(static_cast<size_t>(tokens * in_features));
  std::vector<float> x_scale(static_cast<size_t>(tokens));
  std::vector<int32_t> x_sums(static_cast<size_t>(tokens), 0);
  const float* xp = x.data_ptr<float>();
  for (int64_t t = 0; t < tokens; ++t) {
    const float* row = xp + t * in_features;
    float absmax = 0.0f;
    for (int64_t i = 0; i < in_features; ++i) absmax = std::max(absmax, std::fabs(row[i]));
    const float scale = std::max(absmax, static_cast<float>(eps)) / 127.0f;
    x_scale[t] = scale;
    for (int64_t i = 0; i < in_features; ++i) {
      const float q = std::nearbyint(row[i] / scale);  // half to even, as torch.round
      codes[t * in_features + i] = static_cast<int8_t>(std::min(std::max(q, -128.0f), 127.0f));
      x_sums[t] += codes[t * in_features + i];
    }
  }

  const int8_t* wp = w.data_ptr<int8_t>();
  const float* sp = scales.data_ptr<float>();
  const float* bp = b.numel() ? b.data_ptr<float>() : nullptr;
  torch::Tensor y = torch::empty({tokens, out_features}, torch::kFloat32);
  float* yp = y.data_ptr<float>();
  auto finish = [&](int64_t t, int64_t o, int32_t dot) {
    yp[t * out_features + o] = static_cast<float>(dot) * (x_scale[t] * sp[o]) + (bp ? bp[o] : 0.0f);
  };
  const bool avx2 = kernel_path() >= 1, vnni = kernel_path() >= 3;  // ternary_cpu.cpp's kAvx2, kAvx512Vnni
  // Threads split groups of four rows; a chunk holds at least ~32 KiB of weights.
  const int64_t groups = (out_features + 3) / 4;
  const int64_t grain = std::max<int64_t>(1, (int64_t{32} << 10) / std::max<int64_t>(1, 4 * in_features));
  at::parallel_for(0, groups, grain, [&](int64_t begin, int64_t end) {
    int32_t sums[4];
    for (int64_t g = begin; g < end; ++g) {
      const int64_t o = 4 * g;
      for (int64_t t = 0; t < tokens; ++t) {
        const int8_t* token = codes.data() + t * in_features;
        if (o + 4 <= out_features) {
          dot_i8_rows4(wp + o * in_features, token, in_features, x_sums[t], sums, avx2, vnni);
          for (int r = 0; r < 4; ++r) finish(t, o + r, sums[r]);
        } else {
          for (int64_t r = o; r < out_features; ++r) finish(t, r, dot_i8(wp + r * in_features, token, in_features, avx2));
        }
      }
    }
  });
  return y;
}
