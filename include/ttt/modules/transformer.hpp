// DecoderLayer (pre-norm attention and SwiGLU MLP with residuals) and Transformer
// (embedding, layers, final norm, LM head).
#pragma once

#include <memory>
#include <vector>

#include "ttt/modules/attention.hpp"
#include "ttt/modules/mlp.hpp"
#include "ttt/modules/simple_modules.hpp"

namespace ttt {

namespace ops {
struct BinaryArgs;
}

// Ops: attention_residual, mlp_residual (adds); children attention_norm, attention,
// mlp_norm, mlp. Reference names (Hugging Face, under "model.layers.N."):
// input_layernorm, self_attn, post_attention_layernorm, mlp.
class DecoderLayer : public Module {
 public:
  DecoderLayer(DecoderLayerSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw = {},
               std::shared_ptr<const WeightSource> reference = nullptr, std::string path = "layer",
               WeightLoader loader = nullptr);
  ~DecoderLayer() override;
  Tensor& forward_prefill(const Tensor& x, int64_t first_user = 0);
  Tensor& forward_decode(const Tensor& x, Positions positions);
  MultiHeadAttention& attention() { return *attention_; }

 protected:
  std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const override;
  void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops, ValidationReport& report) const override;
  void reserve_buffers(Mode mode, ActivationArena& arena) override;
  void bind_buffers(Mode mode, ActivationArena& arena) override;

 private:
  struct Plan;
  Plan make_plan(Mode mode, const Shape& x_shape) const;
  DecoderLayerSpec spec_;
  std::unique_ptr<RMSNorm> attention_norm_, mlp_norm_;
  std::unique_ptr<MultiHeadAttention> attention_;
  std::unique_ptr<MLP> mlp_;
  std::unique_ptr<Plan> plans_[2];
};

// The whole decoder. Reference names: model.embed_tokens.weight, model.layers.N.*,
// model.norm.weight, lm_head.weight (absent when tied to the embedding).
class Transformer : public Module {
 public:
  Transformer(TransformerSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw = {},
              std::shared_ptr<const WeightSource> reference = nullptr, WeightLoader loader = nullptr);
  ~Transformer() override;
  const TransformerSpec& spec() const { return spec_; }

  // Prompts of `batch` users, `ids.size() / batch` tokens each, at positions 0..; fills
  // their caches (users first_user..) when compiled for decode. Returns logits of each
  // user's last token, [batch, 1, vocab].
  Tensor& forward_prefill(std::span<const int32_t> ids, int64_t batch = 1, int64_t first_user = 0);
  // One token per user at its own position; returns [1, batch, vocab].
  Tensor& forward_decode(std::span<const int32_t> ids, Positions positions);

  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  DecoderLayer& layer(int64_t i) { return *layers_.at(static_cast<std::size_t>(i)); }

 protected:
  std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const override;
  void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops, ValidationReport& report) const override;
  void reserve_buffers(Mode mode, ActivationArena& arena) override;
  void bind_buffers(Mode mode, ActivationArena& arena) override;

 private:
  struct Plan;
  TransformerSpec spec_;
  std::unique_ptr<Embedding> embedding_;
  std::vector<std::unique_ptr<DecoderLayer>> layers_;
  std::unique_ptr<RMSNorm> norm_;
  std::unique_ptr<LMHead> lm_head_;
  std::unique_ptr<Plan> plan_;
  std::vector<int32_t> last_rows_;
};

}  // namespace ttt
