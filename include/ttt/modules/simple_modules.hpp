// The single-op modules: RMSNorm (op rms_norm), Embedding (op embedding) and LMHead
// (op lm_head_matmul).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ttt/modules/common.hpp"
#include "ttt/modules/specs.hpp"

namespace ttt {

// y = x / sqrt(mean(x^2) + eps) * weight. Reference: "weight" [dim].
class RMSNorm : public Module {
 public:
  RMSNorm(RMSNormSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw = {},
          std::shared_ptr<const WeightSource> reference = nullptr, std::string path = "norm",
          WeightLoader loader = nullptr);
  ~RMSNorm() override;
  const RMSNormSpec& spec() const { return spec_; }
  // x: [batch, seq, dim] (prefill) or [1, batch, dim] (decode).
  Tensor& forward_prefill(const Tensor& x);
  Tensor& forward_decode(const Tensor& x);

 protected:
  std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const override;
  void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops, ValidationReport& report) const override;
  void on_configs_applied() override;
  void reserve_buffers(Mode mode, ActivationArena& arena) override;
  void bind_buffers(Mode mode, ActivationArena& arena) override;

 private:
  struct Plan;
  Plan make_plan(Mode mode, const Shape& x_shape) const;
  Tensor& forward(Mode mode, const Tensor& x);
  RMSNormSpec spec_;
  std::shared_ptr<const WeightSource> reference_;
  WeightLoader loader_;
  Tensor gamma_;
  std::unique_ptr<Plan> plans_[2];
};

// Token ids -> rows of the table. Reference: "weight" [vocab, dim].
class Embedding : public Module {
 public:
  Embedding(EmbeddingSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw = {},
            std::shared_ptr<const WeightSource> reference = nullptr, std::string path = "embedding",
            WeightLoader loader = nullptr);
  ~Embedding() override;
  const EmbeddingSpec& spec() const { return spec_; }
  // ids: batch x seq (prefill, row-major) -> [batch, seq, dim]; batch ids (decode) -> [1, batch, dim].
  Tensor& forward_prefill(std::span<const int32_t> ids, int64_t batch);
  Tensor& forward_decode(std::span<const int32_t> ids);
  const Tensor& table() const { return table_; }

 protected:
  std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const override;
  void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops, ValidationReport& report) const override;
  void on_configs_applied() override;
  void reserve_buffers(Mode mode, ActivationArena& arena) override;
  void bind_buffers(Mode mode, ActivationArena& arena) override;

 private:
  struct Plan;
  Plan make_plan(Mode mode, int64_t batch, int64_t seq) const;
  EmbeddingSpec spec_;
  std::shared_ptr<const WeightSource> reference_;
  WeightLoader loader_;
  Tensor table_;
  std::unique_ptr<Plan> plans_[2];
};

// Hidden states -> logits over the vocabulary. Reference: "weight" [vocab, dim]
// (the embedding's table when tied). On a multi-chip device each chip computes a slice
// of the vocabulary and an all_gather joins them (tensor_parallel.hpp).
class ChipJoin;
class LMHead : public Module {
 public:
  LMHead(LMHeadSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw = {},
         std::shared_ptr<const WeightSource> reference = nullptr, std::string path = "lm_head",
         WeightLoader loader = nullptr);
  ~LMHead() override;
  const LMHeadSpec& spec() const { return spec_; }
  // x: [batch, rows, dim] -> [batch, rows, vocab] (prefill passes only the rows it needs logits for).
  Tensor& forward_prefill(const Tensor& x);
  Tensor& forward_decode(const Tensor& x);

 protected:
  std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const override;
  void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops, ValidationReport& report) const override;
  void on_configs_applied() override;
  void reserve_buffers(Mode mode, ActivationArena& arena) override;
  void bind_buffers(Mode mode, ActivationArena& arena) override;

 private:
  struct Plan;
  struct Compiled;
  // How the vocabulary splits over chips (the lm_head_matmul config decides).
  struct VocabSplit {
    int ways = 1;
    int64_t share = 0;    // vocabulary columns per chip
    std::string why_not;  // why it cannot split ("" when it can)
  };
  VocabSplit split() const;
  Plan make_plan(Mode mode, const Shape& x_shape, int chip, const VocabSplit& v) const;
  ChipJoin make_join(Mode mode, const Plan& chip0, int ways) const;
  Compiled& state(Mode mode);
  Tensor& forward(Mode mode, const Tensor& x);
  LMHeadSpec spec_;
  std::shared_ptr<const WeightSource> reference_;
  WeightLoader loader_;
  std::vector<Tensor> weights_;  // one vocabulary slice per chip (the whole head on one chip)
  std::unique_ptr<Compiled> state_[2];
};

}  // namespace ttt
