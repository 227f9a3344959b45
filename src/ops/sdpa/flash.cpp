#include "ops/sdpa/flash.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/sdpa/attention_kernels.hpp"

namespace ttt::ops::attn {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Dest accumulates one 32-wide tile of the inner dimension per matmul step.
constexpr int64_t kInnerTile = 32;

struct Carver {
  float* p;
  float* take(int64_t n) {
    float* r = p;
    p += n;
    return r;
  }
};

// out (nr x nc) = Q K^T over inner dim d, as the matrix engine forms it: the fidelity's
// passes summed per inner tile, Dest rounded after each tile, then packed to bf16.
void device_qk(const FidelityPasses& fp, const float* const qpl[3], int64_t nr, const float* const kpl[2],
               int64_t nc, int64_t d, bool fp32_dest, float* out, float* tmp, float* tile) {
  const int64_t step = fp32_dest ? d : kInnerTile;
  const int64_t count = nr * nc;
  for (int64_t c0 = 0; c0 < d; c0 += step) {
    const int64_t len = std::min(step, d - c0);
    for (int p = 0; p < fp.count; ++p) {
      qk_scores(qpl[fp.b_plane[p]] + c0, nr, d, kpl[fp.a_plane[p]] + c0, nc, d, len, p == 0 ? tile : tmp, nc);
      if (p > 0)
        for (int64_t x = 0; x < count; ++x) tile[x] += tmp[x];
    }
    for (int64_t x = 0; x < count; ++x) out[x] = dest_round(c0 == 0 ? tile[x] : out[x] + tile[x], fp32_dest);
  }
  pack_bf16(std::span<float>(out, static_cast<std::size_t>(count)), fp32_dest);
}

// out (nr x d) = P V over the n keys, with the same pass and Dest model.
void device_pv(const FidelityPasses& fp, const float* const ppl[3], int64_t nr, const float* const vpl[2], int64_t n,
               int64_t d, bool fp32_dest, float* out, float* tile) {
  const int64_t step = fp32_dest ? n : kInnerTile;
  const int64_t count = nr * d;
  std::fill(out, out + count, 0.f);
  for (int64_t j0 = 0; j0 < n; j0 += step) {
    const int64_t len = std::min(step, n - j0);
    std::fill(tile, tile + count, 0.f);
    for (int p = 0; p < fp.count; ++p)
      pv_accumulate(ppl[fp.b_plane[p]] + j0, nr, n, vpl[fp.a_plane[p]] + j0 * d, len, d, d, tile, d);
    for (int64_t x = 0; x < count; ++x) out[x] = dest_round(out[x] + tile[x], fp32_dest);
  }
  pack_bf16(std::span<float>(out, static_cast<std::size_t>(count)), fp32_dest);
}

// Row sum of P as reduce_tile forms it: fp32 within a tile, Dest precision across tiles.
float device_row_sum(const float* p, int64_t n, bool fp32_dest) {
  float acc = 0.f;
  for (int64_t j0 = 0; j0 < n; j0 += kInnerTile) {
    float t = 0.f;
    for (int64_t j = j0; j < std::min(n, j0 + kInnerTile); ++j) t += p[j];
    acc = dest_round(acc + t, fp32_dest);
  }
  return pack_bf16(acc, fp32_dest);
}

}  // namespace

std::size_t flash_workspace_floats(const FlashConfig& cfg, int64_t total_rows, int64_t max_group_rows) {
  const int64_t d = cfg.head_dim, kc = cfg.k_chunk, g = max_group_rows;
  int64_t n = 2 * kc * d + total_rows * (d + 2) + g * kc;
  if (cfg.numerics.emulate) n += 4 * kc * d + 3 * total_rows * d + 5 * g * kc + 2 * g * d + 2 * g;
  return static_cast<std::size_t>(n);
}

void flash_attend(const FlashConfig& cfg, std::span<const FlashRows> groups, const TensorRows& k,
                  const TensorRows& v, int64_t kv_matrix, std::span<float> workspace) {
  const int64_t d = cfg.head_dim, kc = cfg.k_chunk;
  const float scale = cfg.scale;
  const DeviceNumerics& nm = cfg.numerics;
  int64_t total = 0, max_rows = 0, max_last = -1;
  for (const FlashRows& g : groups) {
    total += g.rows;
    max_rows = std::max(max_rows, g.rows);
    if (g.rows > 0) max_last = std::max(max_last, g.last_key[g.rows - 1]);
  }
  TTT_DEBUG_ASSERT(workspace.size() >= flash_workspace_floats(cfg, total, max_rows));

  Carver c{workspace.data()};
  float* kbuf = c.take(kc * d);
  float* vbuf = c.take(kc * d);
  float* m = c.take(total);
  float* l = c.take(total);
  float* o = c.take(total * d);
  float* s = c.take(max_rows * kc);
  std::fill(m, m + total, kNegInf);
  std::fill(l, l + total, 0.f);
  std::fill(o, o + total * d, 0.f);

  // Device emulation: operand planes per fidelity, the chunk's output and statistics.
  const FidelityPasses fp = fidelity_passes(nm.fidelity);
  float *kpl[2] = {}, *vpl[2] = {}, *qpl[3] = {}, *ppl[3] = {};
  float *tmp = nullptr, *tile = nullptr, *o_im = nullptr, *o_tile = nullptr, *l_cur = nullptr, *diff = nullptr;
  if (nm.emulate) {
    for (auto& p : kpl) p = c.take(kc * d);
    for (auto& p : vpl) p = c.take(kc * d);
    for (auto& p : qpl) p = c.take(total * d);
    for (auto& p : ppl) p = c.take(max_rows * kc);
    tmp = c.take(max_rows * kc);
    tile = c.take(max_rows * kc);
    o_im = c.take(max_rows * d);
    o_tile = c.take(max_rows * d);
    l_cur = c.take(max_rows);
    diff = c.take(max_rows);
    int64_t base = 0;
    for (const FlashRows& g : groups) {
      split_srcb(g.q, g.rows * d, qpl[0] + base * d, qpl[1] + base * d, qpl[2] + base * d);
      base += g.rows;
    }
  }

  for (int64_t k0 = 0; k0 <= max_last; k0 += kc) {
    const int64_t n = std::min(kc, max_last + 1 - k0);
    // Host kernels read a bf16 row-major cache in place; everything else is staged as fp32.
    const uint16_t* k16 = !nm.emulate && k.bf16_rows() ? k.bf16_row_ptr(kv_matrix, k0) : nullptr;
    const uint16_t* v16 = !nm.emulate && v.bf16_rows() ? v.bf16_row_ptr(kv_matrix, k0) : nullptr;
    const float* kr = k16 ? nullptr : k.read(kv_matrix, k0, n, kbuf);
    const float* vr = v16 ? nullptr : v.read(kv_matrix, k0, n, vbuf);
    if (nm.emulate) {
      split_srca(kr, n * d, kpl[0], kpl[1]);
      split_srca(vr, n * d, vpl[0], vpl[1]);
    }
    const bool first = k0 == 0;
    int64_t base = 0;
    for (const FlashRows& g : groups) {
      // Rows whose last key precedes this chunk see only masked scores: their state
      // would not change (exp gives 0, the rescale is exp(0) = 1), so they are skipped.
      int64_t r0 = 0;
      while (r0 < g.rows && g.last_key[r0] < k0) ++r0;
      const int64_t nr = g.rows - r0, row0 = base + r0;
      base += g.rows;
      if (nr == 0) continue;

      if (!nm.emulate) {
        if (k16) {
          qk_scores(g.q + r0 * d, nr, d, k16, n, d, d, s, n);
        } else {
          qk_scores(g.q + r0 * d, nr, d, kr, n, d, d, s, n);
        }
        for (int64_t i = 0; i < nr; ++i) {
          const int64_t row = row0 + i;
          const int64_t nv = std::min(n, g.last_key[r0 + i] - k0 + 1);
          float* si = s + i * n;
          const float m_new = std::max(m[row], max_value(si, nv));
          const float alpha = m[row] == kNegInf ? 0.f : std::exp(scale * (m[row] - m_new));
          const float sum = exp_scaled_sum(si, nv, m_new, scale);
          std::fill(si + nv, si + n, 0.f);
          l[row] = l[row] * alpha + sum;
          if (alpha != 1.f) {
            float* orow = o + row * d;
            for (int64_t x = 0; x < d; ++x) orow[x] *= alpha;
          }
          m[row] = m_new;
        }
        if (v16) {
          pv_accumulate(s, nr, n, v16, n, d, d, o + row0 * d, d);
        } else {
          pv_accumulate(s, nr, n, vr, n, d, d, o + row0 * d, d);
        }
        continue;
      }

      // Device: scores packed to bf16, max, exp((s - max) * scale) packed to bf16, row
      // sums, P V packed to bf16, then the rescale-and-add of the running statistics.
      const float* q_planes[3] = {qpl[0] + row0 * d, qpl[1] + row0 * d, qpl[2] + row0 * d};
      const float* k_planes[2] = {kpl[0], kpl[1]};
      device_qk(fp, q_planes, nr, k_planes, n, d, nm.fp32_dest, s, tmp, tile);
      for (int64_t i = 0; i < nr; ++i) {
        const int64_t row = row0 + i;
        const int64_t nv = std::min(n, g.last_key[r0 + i] - k0 + 1);
        float* si = s + i * n;
        float mx = kNegInf;
        for (int64_t j = 0; j < nv; ++j) mx = std::max(mx, si[j]);
        const float m_new = first ? mx : std::max(m[row], mx);
        for (int64_t j = 0; j < nv; ++j) {
          const float x = dest_round(si[j] - m_new, nm.fp32_dest);
          si[j] = pack_bf16(std::exp(scale * x), nm.fp32_dest);
        }
        std::fill(si + nv, si + n, 0.f);
        l_cur[i] = device_row_sum(si, n, nm.fp32_dest);
        if (!first) {
          const float x = dest_round(m[row] - m_new, nm.fp32_dest);
          diff[i] = pack_bf16(std::exp(scale * x), nm.fp32_dest);
        }
        m[row] = m_new;
      }
      split_srcb(s, nr * n, ppl[0], ppl[1], ppl[2]);
      const float* p_planes[3] = {ppl[0], ppl[1], ppl[2]};
      const float* v_planes[2] = {vpl[0], vpl[1]};
      device_pv(fp, p_planes, nr, v_planes, n, d, nm.fp32_dest, o_im, o_tile);
      for (int64_t i = 0; i < nr; ++i) {
        const int64_t row = row0 + i;
        float* orow = o + row * d;
        const float* im = o_im + i * d;
        if (first) {
          std::memcpy(orow, im, static_cast<std::size_t>(d) * sizeof(float));
          l[row] = l_cur[i];
        } else {
          const bool f32 = nm.fp32_dest;
          l[row] = pack_bf16(pack_bf16(l[row] * diff[i], f32) + l_cur[i], f32);
          for (int64_t x = 0; x < d; ++x) orow[x] = pack_bf16(pack_bf16(orow[x] * diff[i], f32) + im[x], f32);
        }
      }
    }
  }

  int64_t base = 0;
  for (const FlashRows& g : groups) {
    for (int64_t i = 0; i < g.rows; ++i) {
      const int64_t row = base + i;
      const float* orow = o + row * d;
      float* out = g.out + i * d;
      if (nm.emulate) {
        const float r = pack_bf16(1.f / l[row], nm.fp32_dest);
        for (int64_t x = 0; x < d; ++x) out[x] = pack_bf16(orow[x] * r, nm.fp32_dest);
      } else {
        const float r = 1.f / l[row];
        for (int64_t x = 0; x < d; ++x) out[x] = orow[x] * r;
      }
    }
    base += g.rows;
  }
}

}  // namespace ttt::ops::attn
