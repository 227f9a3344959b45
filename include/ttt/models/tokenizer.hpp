// Tokenizers of Hugging Face model directories: tokenizer.json with a BPE model
// (byte-level BPE as in GPT-2 / Llama 3, or sentencepiece-style BPE with byte fallback
// as in Llama 2), and tokenizer.model through libsentencepiece. docs/models.md lists
// the rules each one follows and where they come from.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/enum.hpp"

namespace ttt {

// Which file Tokenizer::load reads. auto_: tokenizer.json when present, else tokenizer.model.
TTT_ENUM(TokenizerSource, auto_, json, sentencepiece)
// What was loaded.
TTT_ENUM(TokenizerKind, byte_level_bpe, sentencepiece_bpe, sentencepiece_model)

namespace model_detail {
struct TokenizerModel;
}

class Tokenizer {
 public:
  // Reads the tokenizer of a model directory. BOS/EOS come from config.json, else
  // tokenizer_config.json, else the tokenizer itself. When config.json gives a
  // vocab_size, every token id must be below it (ModelFormat naming both files).
  static Tokenizer load(const std::filesystem::path& model_dir, TokenizerSource source = TokenizerSource::auto_);
  static Tokenizer from_json_file(const std::filesystem::path& tokenizer_json);
  static Tokenizer from_sentencepiece_file(const std::filesystem::path& tokenizer_model);

  // Text -> ids. With parse_special, special tokens written in the text ("<s>") become
  // their ids, as Hugging Face tokenizers do; without, they are ordinary text.
  std::vector<int32_t> encode(std::string_view text, bool add_bos = true, bool parse_special = true) const;
  // Ids -> text. Bytes that do not form valid UTF-8 become U+FFFD, one per byte.
  std::string decode(std::span<const int32_t> ids, bool skip_special = true) const;

  TokenizerKind kind() const;
  const std::filesystem::path& file() const;
  int64_t vocab_size() const;  // largest id + 1
  int32_t bos_id() const;      // -1: none
  int32_t eos_id() const;      // the first EOS id; -1: none
  const std::vector<int32_t>& eos_ids() const;
  bool is_eos(int32_t id) const;
  bool is_special(int32_t id) const;
  std::string piece(int32_t id) const;                        // the token as stored
  std::optional<int32_t> token_id(std::string_view piece) const;

  // Overrides BOS/EOS (load does this from config.json); ids must be in the vocabulary.
  void set_special_ids(int32_t bos, std::vector<int32_t> eos);

  const model_detail::TokenizerModel& model() const { return *model_; }

 private:
  explicit Tokenizer(std::shared_ptr<model_detail::TokenizerModel> model);
  std::shared_ptr<model_detail::TokenizerModel> model_;  // shared by copies, never changed
  int32_t bos_ = -1;
  std::vector<int32_t> eos_;
};

// Text for one token at a time during generation. Bytes of a multi-byte character
// spread over byte-fallback tokens are held back until the character is complete;
// concatenating every push() and then finish() gives exactly decode(ids). The
// tokenizer must outlive the decoder.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = true);
  std::string push(int32_t id);
  std::string finish();  // held-back bytes that never completed, as U+FFFD
  void reset();

 private:
  std::string take_complete(bool final);
  const Tokenizer* tokenizer_;
  bool skip_special_;
  bool at_start_ = true;
  std::string pending_;
};

}  // namespace ttt
