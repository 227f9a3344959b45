#include "ttt/models/tokenizer.hpp"

#include <algorithm>

#include "models/json_util.hpp"
#include "models/pretokenize.hpp"
#include "models/tokenizer_model.hpp"
#include "ttt/error.hpp"

namespace ttt {
namespace {

using model_detail::Json;
using model_detail::JsonObject;

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// tokenizer_config.json writes special tokens as "<s>" or {"content": "<s>", ...}.
std::optional<std::string> special_token_text(const JsonObject& o, std::string_view key) {
  const Json* v = o.find(key);
  if (!v) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object() && v->contains("content") && (*v)["content"].is_string()) return (*v)["content"].get<std::string>();
  o.wrong_type(key, *v, "a token string or an object with \"content\"");
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<model_detail::TokenizerModel> model) : model_(std::move(model)) {
  // Longest first, so that "<|eot_id|>" wins over a prefix of it.
  std::stable_sort(model_->split_tokens.begin(), model_->split_tokens.end(),
                   [](const auto& a, const auto& b) { return a.content.size() > b.content.size(); });
  std::erase_if(model_->split_tokens, [](const auto& t) { return t.content.empty(); });
  bos_ = model_->bos;
  eos_ = model_->eos;
}

Tokenizer Tokenizer::from_json_file(const std::filesystem::path& tokenizer_json) {
  return Tokenizer(model_detail::load_json_tokenizer(tokenizer_json));
}

Tokenizer Tokenizer::from_sentencepiece_file(const std::filesystem::path& tokenizer_model) {
  return Tokenizer(model_detail::load_sentencepiece_tokenizer(tokenizer_model));
}

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir, TokenizerSource source) {
  std::error_code ec;
  const auto json_file = model_dir / "tokenizer.json";
  const auto spm_file = model_dir / "tokenizer.model";
  if (source == TokenizerSource::auto_) {
    if (std::filesystem::exists(json_file, ec)) source = TokenizerSource::json;
    else if (std::filesystem::exists(spm_file, ec)) source = TokenizerSource::sentencepiece;
    else fail(ErrorKind::ModelFormat, "{}: neither tokenizer.json nor tokenizer.model exists", model_dir.string());
  }
  Tokenizer tok = source == TokenizerSource::json ? from_json_file(json_file) : from_sentencepiece_file(spm_file);
  const std::string tok_name = tok.file().string();

  int32_t bos = tok.bos_id();
  std::vector<int32_t> eos = tok.eos_ids();
  const auto lookup = [&](const std::string& text, const std::filesystem::path& file, std::string_view field) {
    auto id = tok.token_id(text);
    if (!id) {
      fail(ErrorKind::ModelFormat, "{}: field '{}' is '{}', which {} does not contain", file.string(), field, text,
           tok_name);
    }
    return *id;
  };
  const auto tc_file = model_dir / "tokenizer_config.json";
  if (std::filesystem::exists(tc_file, ec)) {
    const Json tc_json = model_detail::read_json_file(tc_file);
    const JsonObject tc(tc_json, tc_file);
    if (auto b = special_token_text(tc, "bos_token")) bos = lookup(*b, tc_file, "bos_token");
    if (auto e = special_token_text(tc, "eos_token")) eos = {lookup(*e, tc_file, "eos_token")};
  }

  // config.json is what the model was trained with: its ids win, and its vocabulary
  // must hold every token id.
  const auto cfg_file = model_dir / "config.json";
  if (std::filesystem::exists(cfg_file, ec)) {
    const Json cfg_json = model_detail::read_json_file(cfg_file);
    const JsonObject cfg(cfg_json, cfg_file);
    if (auto vocab = cfg.opt_int("vocab_size"); vocab && tok.vocab_size() > *vocab) {
      fail(ErrorKind::ModelFormat,
           "{} has token ids up to {} but {} field 'vocab_size' is {}: the tokenizer does not belong to this model",
           tok_name, tok.vocab_size() - 1, cfg_file.string(), *vocab);
    }
    const auto ids = [&](std::string_view key) {
      std::vector<int32_t> out;
      const Json* v = cfg.find(key);
      if (!v) return out;
      if (v->is_number_integer()) out.push_back(static_cast<int32_t>(cfg.get_int(key)));
      else if (v->is_array()) for (const Json& e : *v) out.push_back(e.is_number_integer() ? e.get<int32_t>() : -1);
      else cfg.wrong_type(key, *v, "an integer or a list of integers");
      for (int32_t id : out) {
        if (id < 0 || id >= tok.vocab_size()) {
          fail(ErrorKind::ModelFormat, "{}: field '{}' {} is not a token id of {} ({} tokens)", cfg_file.string(),
               key, v->dump(), tok_name, tok.vocab_size());
        }
      }
      return out;
    };
    if (auto b = ids("bos_token_id"); !b.empty()) bos = b.front();
    if (auto e = ids("eos_token_id"); !e.empty()) eos = e;
  }
  tok.set_special_ids(bos, std::move(eos));
  return tok;
}

void Tokenizer::set_special_ids(int32_t bos, std::vector<int32_t> eos) {
  for (int32_t id : eos) {
    TTT_CHECK(id >= 0 && id < vocab_size(), InvalidConfig, "{}: EOS id {} is outside the vocabulary ({} tokens)",
              file().string(), id, vocab_size());
  }
  TTT_CHECK(bos >= -1 && bos < vocab_size(), InvalidConfig, "{}: BOS id {} is outside the vocabulary ({} tokens)",
            file().string(), bos, vocab_size());
  bos_ = bos;
  eos_ = std::move(eos);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_bos && bos_ >= 0) out.push_back(bos_);
  if (!parse_special || model_->split_tokens.empty()) {
    model_->encode_segment(text, out);
    return out;
  }
  // Special tokens split the text; the pieces between them are encoded on their own.
  std::size_t seg_begin = 0, i = 0;
  while (i < text.size()) {
    const model_detail::SpecialToken* hit = nullptr;
    for (const auto& t : model_->split_tokens) {
      if (text.compare(i, t.content.size(), t.content) == 0) {
        hit = &t;
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    std::size_t seg_end = i;
    if (hit->lstrip) {
      while (seg_end > seg_begin && is_ascii_space(text[seg_end - 1])) --seg_end;
    }
    model_->encode_segment(text.substr(seg_begin, seg_end - seg_begin), out);
    out.push_back(hit->id);
    i += hit->content.size();
    if (hit->rstrip) {
      while (i < text.size() && is_ascii_space(text[i])) ++i;
    }
    seg_begin = i;
  }
  model_->encode_segment(text.substr(seg_begin), out);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  StreamDecoder d(*this, skip_special);
  std::string out;
  for (int32_t id : ids) out += d.push(id);
  out += d.finish();
  return out;
}

TokenizerKind Tokenizer::kind() const { return model_->kind; }
const std::filesystem::path& Tokenizer::file() const { return model_->file; }
int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(model_->pieces.size()); }
int32_t Tokenizer::bos_id() const { return bos_; }
int32_t Tokenizer::eos_id() const { return eos_.empty() ? -1 : eos_.front(); }
const std::vector<int32_t>& Tokenizer::eos_ids() const { return eos_; }
bool Tokenizer::is_eos(int32_t id) const { return std::find(eos_.begin(), eos_.end(), id) != eos_.end(); }

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && model_->special[static_cast<std::size_t>(id)] != 0;
}

std::string Tokenizer::piece(int32_t id) const {
  TTT_CHECK(id >= 0 && id < vocab_size(), InvalidConfig, "token id {} is outside the vocabulary of {} ({} tokens)",
            id, file().string(), vocab_size());
  return model_->pieces[static_cast<std::size_t>(id)];
}

std::optional<int32_t> Tokenizer::token_id(std::string_view piece) const {
  auto it = model_->piece_ids.find(std::string(piece));
  if (it == model_->piece_ids.end()) return std::nullopt;
  return it->second;
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(&tokenizer), skip_special_(skip_special) {}

void StreamDecoder::reset() {
  at_start_ = true;
  pending_.clear();
}

std::string StreamDecoder::push(int32_t id) {
  const auto& m = tokenizer_->model();
  TTT_CHECK(id >= 0 && id < tokenizer_->vocab_size(), InvalidConfig,
            "token id {} is outside the vocabulary of {} ({} tokens)", id, m.file.string(), tokenizer_->vocab_size());
  const auto k = static_cast<std::size_t>(id);
  if (m.special[k]) {
    if (skip_special_) return {};
    pending_ += m.pieces[k];
  } else {
    pending_ += m.decoded[k];
  }
  return take_complete(false);
}

std::string StreamDecoder::finish() { return take_complete(true); }

std::string StreamDecoder::take_complete(bool final) {
  std::string out;
  std::size_t i = 0;
  while (i < pending_.size()) {
    const int n = model_detail::utf8_valid_length(pending_, i);
    if (n > 0) {
      out.append(pending_, i, static_cast<std::size_t>(n));
      i += static_cast<std::size_t>(n);
      continue;
    }
    if (!final) {
      // Hold back a lead byte whose continuation bytes have not all arrived yet.
      const auto lead = static_cast<unsigned char>(pending_[i]);
      const std::size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      bool prefix = lead >= 0xC2 && lead <= 0xF4 && pending_.size() - i < need;
      for (std::size_t k = i + 1; prefix && k < pending_.size(); ++k) {
        prefix = (static_cast<unsigned char>(pending_[k]) & 0xC0) == 0x80;
      }
      if (prefix) break;
    }
    out += "\xEF\xBF\xBD";  // U+FFFD, one per byte that is not part of a character
    ++i;
  }
  pending_.erase(0, i);
  if (at_start_ && !out.empty()) {
    if (tokenizer_->model().strip_leading_space && out.front() == ' ') out.erase(0, 1);
    at_start_ = false;
  }
  return out;
}

}  // namespace ttt
