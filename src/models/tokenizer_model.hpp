// The parts of a tokenizer that differ between tokenizer.json and tokenizer.model;
// Tokenizer (tokenizer.cpp) does special-token splitting, BOS, decoding and streaming.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ttt/models/tokenizer.hpp"

namespace ttt::model_detail {

struct SpecialToken {
  std::string content;
  int32_t id = 0;
  bool lstrip = false;  // swallow whitespace before the token
  bool rstrip = false;  // swallow whitespace after it
};

struct TokenizerModel {
  virtual ~TokenizerModel() = default;
  // Appends the ids of text that holds no special token.
  virtual void encode_segment(std::string_view text, std::vector<int32_t>& out) const = 0;

  TokenizerKind kind = TokenizerKind::sentencepiece_bpe;
  std::filesystem::path file;
  std::vector<std::string> pieces;        // id -> token as stored ("" for ids never defined)
  std::vector<std::string> decoded;       // id -> bytes it decodes to
  std::vector<uint8_t> special;           // id -> 1 for special tokens (skipped when decoding)
  std::unordered_map<std::string, int32_t> piece_ids;
  std::vector<SpecialToken> split_tokens;  // matched in text, longest first
  bool strip_leading_space = false;        // the decoder drops one leading space
  int32_t bos = -1;
  std::vector<int32_t> eos;

  void add_piece(int32_t id, std::string piece);  // grows the tables
};

std::shared_ptr<TokenizerModel> load_json_tokenizer(const std::filesystem::path& file);
std::shared_ptr<TokenizerModel> load_sentencepiece_tokenizer(const std::filesystem::path& file);

}  // namespace ttt::model_detail
