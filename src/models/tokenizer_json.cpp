// tokenizer.json with a BPE model, following the Hugging Face tokenizers library:
// normalizer -> pre-tokenizer -> BPE per word (merges by rank, byte fallback) and the
// decoder chain reduced to "bytes per token" plus a leading-space strip.
#include <algorithm>
#include <array>
#include <queue>

#include "models/json_util.hpp"
#include "models/pretokenize.hpp"
#include "models/tokenizer_model.hpp"
#include "ttt/error.hpp"

namespace ttt::model_detail {
namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  std::size_t start = 0;
  for (std::size_t pos; (pos = s.find(from, start)) != std::string::npos; start = pos + from.size()) {
    out.append(s, start, pos - start);
    out.append(to);
  }
  out.append(s, start, std::string::npos);
  s = std::move(out);
}

struct NormalizerStep {
  enum Kind { prepend, replace } kind;
  std::string a, b;  // prepend: a; replace: a -> b
};

struct PreTokenizerStep {
  enum Kind { byte_level, split, metaspace } kind;
  bool use_regex = true;         // byte_level
  bool add_prefix_space = false;  // byte_level
  SplitPattern pattern = SplitPattern::gpt2;  // split
  std::string replacement;        // metaspace
  int prepend = 0;                // metaspace: 0 never, 1 first, 2 always
  bool metaspace_split = true;
};

class JsonBpe final : public TokenizerModel {
 public:
  void encode_segment(std::string_view text, std::vector<int32_t>& out) const override;

  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (left, right) -> (rank, merged)
  std::array<int32_t, 256> byte_ids{};
  int32_t unk = -1;
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
};

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

void JsonBpe::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges) {
    if (auto it = piece_ids.find(std::string(word)); it != piece_ids.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // Initial symbols: one per character, or its bytes as <0xNN> tokens, or <unk>.
  std::vector<int32_t> ids;
  for (const CodePoint& c : decode_utf8(word)) {
    const std::string ch(word.substr(c.offset, c.length));
    if (auto it = piece_ids.find(ch); it != piece_ids.end()) {
      ids.push_back(it->second);
      continue;
    }
    bool bytes_ok = byte_fallback;
    for (unsigned char b : ch) bytes_ok = bytes_ok && byte_ids[b] >= 0;
    if (bytes_ok) {
      for (unsigned char b : ch) ids.push_back(byte_ids[b]);
    } else if (unk >= 0 && !(fuse_unk && !ids.empty() && ids.back() == unk)) {
      ids.push_back(unk);
    }
  }
  // Merge the lowest-ranked adjacent pair first, leftmost among equals, as tokenizers'
  // Word::merge_all does; stale queue entries are skipped when popped.
  const int n = static_cast<int>(ids.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    int32_t rank;
    int pos;
    int32_t merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<>> queue;
  const auto push = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (auto it = merges.find(pair_key(ids[pos], ids[next[pos]])); it != merges.end()) {
      queue.push({it->second.first, pos, it->second.second});
    }
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<uint8_t> dead(n, 0);
  while (!queue.empty()) {
    const Cand c = queue.top();
    queue.pop();
    if (dead[c.pos] || next[c.pos] < 0) continue;
    const int r = next[c.pos];
    auto it = merges.find(pair_key(ids[c.pos], ids[r]));
    if (it == merges.end() || it->second.second != c.merged || it->second.first != c.rank) continue;
    ids[c.pos] = c.merged;
    dead[r] = 1;
    next[c.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  for (int i = 0; i < n; ++i) {
    if (!dead[i]) out.push_back(ids[i]);
  }
}

void JsonBpe::encode_segment(std::string_view text, std::vector<int32_t>& out) const {
  std::string norm(text);
  for (const auto& s : normalizer) {
    // Prepend only touches non-empty text, as in tokenizers.
    if (s.kind == NormalizerStep::prepend) {
      if (!norm.empty()) norm = s.a + norm;
    } else {
      replace_all(norm, s.a, s.b);
    }
  }
  std::vector<std::string> words{std::move(norm)};
  for (const auto& step : pre) {
    std::vector<std::string> next;
    for (std::string& w : words) {
      switch (step.kind) {
        case PreTokenizerStep::split:
          for (auto piece : split_with_pattern(w, step.pattern)) next.emplace_back(piece);
          break;
        case PreTokenizerStep::byte_level: {
          if (step.add_prefix_space && !w.empty() && w[0] != ' ') w = " " + w;
          std::vector<std::string_view> pieces;
          if (step.use_regex) pieces = split_with_pattern(w, SplitPattern::gpt2);
          else pieces.push_back(w);
          for (auto piece : pieces) next.push_back(bytes_to_byte_level(piece));
          break;
        }
        case PreTokenizerStep::metaspace: {
          replace_all(w, " ", step.replacement);
          const bool first = &w == &words.front();
          if (step.prepend == 2 || (step.prepend == 1 && first)) {
            if (w.compare(0, step.replacement.size(), step.replacement) != 0) w = step.replacement + w;
          }
          if (!step.metaspace_split) {
            next.push_back(w);
            break;
          }
          // Each word starts at a replacement character.
          std::size_t start = 0;
          for (std::size_t pos = w.find(step.replacement, 1); pos != std::string::npos;
               pos = w.find(step.replacement, pos + 1)) {
            next.push_back(w.substr(start, pos - start));
            start = pos;
          }
          next.push_back(w.substr(start));
          break;
        }
      }
    }
    words = std::move(next);
  }
  for (const auto& w : words) encode_word(w, out);
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

[[noreturn]] void unsupported(const std::filesystem::path& file, std::string_view field, std::string_view found,
                              std::string_view supported) {
  fail(ErrorKind::Unsupported, "{}: field '{}' is {}; supported: {}", file.string(), field, found, supported);
}

std::string string_pattern(const JsonObject& o, std::string_view where) {
  const JsonObject pat(o.require("pattern"), o.file(), std::string(where) + "pattern.");
  if (pat.has("String")) return pat.get_string("String");
  unsupported(o.file(), std::string(where) + "pattern", describe(o.require("pattern")), "{\"String\": ...}");
}

void parse_normalizer(const Json& j, const std::filesystem::path& file, std::string where, JsonBpe& m) {
  const JsonObject o(j, file, where);
  const std::string type = o.get_string("type");
  if (type == "Sequence") {
    const Json& list = o.require("normalizers");
    if (!list.is_array()) o.wrong_type("normalizers", list, "a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      parse_normalizer(list[i], file, where + "normalizers[" + std::to_string(i) + "].", m);
    }
  } else if (type == "Prepend") {
    m.normalizer.push_back({NormalizerStep::prepend, o.get_string("prepend"), ""});
  } else if (type == "Replace") {
    m.normalizer.push_back({NormalizerStep::replace, string_pattern(o, where), o.get_string("content")});
  } else {
    unsupported(file, where + "type", "'" + type + "'", "Sequence, Prepend, Replace");
  }
}

int metaspace_prepend(const JsonObject& o) {
  if (auto scheme = o.opt_string("prepend_scheme")) {
    if (*scheme == "always") return 2;
    if (*scheme == "first") return 1;
    if (*scheme == "never") return 0;
    unsupported(o.file(), o.field("prepend_scheme"), "'" + *scheme + "'", "always, first, never");
  }
  return o.opt_bool("add_prefix_space").value_or(true) ? 2 : 0;
}

void parse_pre_tokenizer(const Json& j, const std::filesystem::path& file, std::string where, JsonBpe& m) {
  const JsonObject o(j, file, where);
  const std::string type = o.get_string("type");
  PreTokenizerStep step{};
  if (type == "Sequence") {
    const Json& list = o.require("pretokenizers");
    if (!list.is_array()) o.wrong_type("pretokenizers", list, "a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      parse_pre_tokenizer(list[i], file, where + "pretokenizers[" + std::to_string(i) + "].", m);
    }
    return;
  }
  if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::byte_level;
    step.add_prefix_space = o.opt_bool("add_prefix_space").value_or(true);
    step.use_regex = o.opt_bool("use_regex").value_or(true);
  } else if (type == "Split") {
    step.kind = PreTokenizerStep::split;
    const JsonObject pat(o.require("pattern"), file, where + "pattern.");
    const std::string regex = pat.has("Regex") ? pat.get_string("Regex") : std::string();
    const auto behavior = o.opt_string("behavior").value_or("Isolated");
    if (behavior != "Isolated" || o.opt_bool("invert").value_or(false)) {
      unsupported(file, where + "behavior", "'" + behavior + "'", "Isolated without invert");
    }
    if (regex == split_pattern_text(SplitPattern::gpt2)) {
      step.pattern = SplitPattern::gpt2;
    } else if (regex == split_pattern_text(SplitPattern::llama3)) {
      step.pattern = SplitPattern::llama3;
    } else {
      unsupported(file, where + "pattern.Regex", describe(o.require("pattern")), "the GPT-2 and Llama 3 patterns");
    }
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerStep::metaspace;
    step.replacement = o.get_string("replacement");
    step.prepend = metaspace_prepend(o);
    step.metaspace_split = o.opt_bool("split").value_or(true);
  } else {
    unsupported(file, where + "type", "'" + type + "'", "Sequence, ByteLevel, Split, Metaspace");
  }
  m.pre.push_back(step);
}

// The decoder chain as: a per-token transform into bytes, and a leading-space strip.
struct DecoderPlan {
  std::vector<std::pair<std::string, std::string>> replaces;
  bool byte_fallback = false;
  bool byte_level = false;
  bool strip_leading_space = false;
};

void parse_decoder(const Json& j, const std::filesystem::path& file, std::string where, DecoderPlan& plan) {
  const JsonObject o(j, file, where);
  const std::string type = o.get_string("type");
  if (type == "Sequence") {
    const Json& list = o.require("decoders");
    if (!list.is_array()) o.wrong_type("decoders", list, "a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      parse_decoder(list[i], file, where + "decoders[" + std::to_string(i) + "].", plan);
    }
  } else if (type == "Replace") {
    plan.replaces.emplace_back(string_pattern(o, where), o.get_string("content"));
  } else if (type == "ByteFallback") {
    plan.byte_fallback = true;
  } else if (type == "Fuse") {
    // Joining tokens is what decoding does anyway.
  } else if (type == "ByteLevel") {
    plan.byte_level = true;
  } else if (type == "Strip") {
    const auto content = o.get_string("content");
    const int64_t start = o.get_int("start"), stop = o.get_int("stop");
    if (content != " " || start > 1 || stop != 0) {
      unsupported(file, where + "start", fmt::format("content '{}', start {}, stop {}", content, start, stop),
                  "content ' ' with start 0 or 1 and stop 0");
    }
    plan.strip_leading_space = plan.strip_leading_space || start == 1;
  } else if (type == "Metaspace") {
    plan.replaces.emplace_back(o.get_string("replacement"), " ");
    plan.strip_leading_space = plan.strip_leading_space || metaspace_prepend(o) != 0;
  } else {
    unsupported(file, where + "type", "'" + type + "'", "Sequence, Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace");
  }
}

// "<0x41>" -> 0x41, else -1.
int byte_token_value(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int v = 0;
  for (char c : piece.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else return -1;
  }
  return v;
}

int32_t token_index(const JsonObject& o, const Json& v, std::string_view field) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
    o.wrong_type(field, v, "a token id (a non-negative integer)");
  }
  return static_cast<int32_t>(v.get<int64_t>());
}

void parse_model(const JsonObject& root, JsonBpe& m) {
  const auto& file = root.file();
  const JsonObject model(root.require("model"), file, "model.");
  const std::string type = model.opt_string("type").value_or("BPE");
  if (type != "BPE") unsupported(file, "model.type", "'" + type + "'", "BPE");
  if (model.opt_number("dropout").value_or(0.0) != 0.0) {
    unsupported(file, "model.dropout", describe(model.require("dropout")), "null or 0");
  }
  for (std::string_view key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (!model.opt_string(key).value_or("").empty()) {
      unsupported(file, model.field(key), describe(model.require(key)), "null");
    }
  }
  const Json& vocab = model.require("vocab");
  if (!vocab.is_object()) model.wrong_type("vocab", vocab, "an object of token -> id");
  for (const auto& [piece, id] : vocab.items()) m.add_piece(token_index(model, id, "vocab." + piece), piece);

  const Json& merges = model.require("merges");
  if (!merges.is_array()) model.wrong_type("merges", merges, "a list");
  int32_t rank = 0;
  for (const Json& e : merges) {
    std::string left, right;
    // Older files write "a b", newer ones ["a", "b"].
    if (e.is_string()) {
      const std::string s = e.get<std::string>();
      const auto sp = s.find(' ', 1);
      if (sp == std::string::npos) model.wrong_type("merges[" + std::to_string(rank) + "]", e, "\"left right\"");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      left = e[0].get<std::string>();
      right = e[1].get<std::string>();
    } else {
      model.wrong_type("merges[" + std::to_string(rank) + "]", e, "\"left right\" or [left, right]");
    }
    const auto l = m.piece_ids.find(left), r = m.piece_ids.find(right), merged = m.piece_ids.find(left + right);
    if (l == m.piece_ids.end() || r == m.piece_ids.end() || merged == m.piece_ids.end()) {
      fail(ErrorKind::ModelFormat, "{}: field 'model.merges[{}]' ({}) uses a token that is not in model.vocab",
           file.string(), rank, e.dump());
    }
    m.merges.try_emplace(pair_key(l->second, r->second), rank, merged->second);
    ++rank;
  }
  if (auto unk = model.opt_string("unk_token")) {
    auto it = m.piece_ids.find(*unk);
    if (it == m.piece_ids.end()) {
      fail(ErrorKind::ModelFormat, "{}: field 'model.unk_token' '{}' is not in model.vocab", file.string(), *unk);
    }
    m.unk = it->second;
  }
  m.byte_fallback = model.opt_bool("byte_fallback").value_or(false);
  m.fuse_unk = model.opt_bool("fuse_unk").value_or(false);
  m.ignore_merges = model.opt_bool("ignore_merges").value_or(false);
}

}  // namespace

void TokenizerModel::add_piece(int32_t id, std::string piece) {
  const auto need = static_cast<std::size_t>(id) + 1;
  if (pieces.size() < need) {
    pieces.resize(need);
    decoded.resize(need);
    special.resize(need, 0);
  }
  piece_ids[piece] = id;
  pieces[static_cast<std::size_t>(id)] = std::move(piece);
}

std::shared_ptr<TokenizerModel> load_json_tokenizer(const std::filesystem::path& file) {
  const Json root_json = read_json_file(file);
  const JsonObject root(root_json, file);
  auto m = std::make_shared<JsonBpe>();
  m->file = file;
  parse_model(root, *m);
  if (const Json* n = root.find("normalizer")) parse_normalizer(*n, file, "normalizer.", *m);
  if (const Json* p = root.find("pre_tokenizer")) parse_pre_tokenizer(*p, file, "pre_tokenizer.", *m);
  DecoderPlan plan;
  if (const Json* d = root.find("decoder")) parse_decoder(*d, file, "decoder.", plan);
  m->kind = plan.byte_level ? TokenizerKind::byte_level_bpe : TokenizerKind::sentencepiece_bpe;
  m->strip_leading_space = plan.strip_leading_space;

  if (const Json* added = root.find("added_tokens")) {
    if (!added->is_array()) root.wrong_type("added_tokens", *added, "a list");
    for (std::size_t i = 0; i < added->size(); ++i) {
      const JsonObject t((*added)[i], file, "added_tokens[" + std::to_string(i) + "].");
      const int32_t id = token_index(t, t.require("id"), "id");
      const std::string content = t.get_string("content");
      m->add_piece(id, content);
      if (t.opt_bool("special").value_or(false)) m->special[static_cast<std::size_t>(id)] = 1;
      m->split_tokens.push_back({content, id, t.opt_bool("lstrip").value_or(false), t.opt_bool("rstrip").value_or(false)});
    }
  }

  m->byte_ids.fill(-1);
  for (std::size_t id = 0; id < m->pieces.size(); ++id) {
    const std::string& piece = m->pieces[id];
    const int byte = byte_token_value(piece);
    if (byte >= 0 && m->byte_fallback) m->byte_ids[static_cast<std::size_t>(byte)] = static_cast<int32_t>(id);
    std::string& out = m->decoded[id];
    if (plan.byte_level) {
      // Map each character back to the byte it stands for; others pass through.
      static const auto inverse = [] {
        std::unordered_map<char32_t, unsigned char> inv;
        for (int b = 0; b < 256; ++b) inv[byte_to_char()[static_cast<std::size_t>(b)]] = static_cast<unsigned char>(b);
        return inv;
      }();
      for (const CodePoint& c : decode_utf8(piece)) {
        auto it = inverse.find(c.cp);
        if (it != inverse.end()) out += static_cast<char>(it->second);
        else out.append(piece, c.offset, c.length);
      }
    } else if (plan.byte_fallback && byte >= 0) {
      out = std::string(1, static_cast<char>(byte));
    } else {
      out = piece;
      for (const auto& [from, to] : plan.replaces) replace_all(out, from, to);
    }
  }

  // BOS from the post-processor template ("<s> $A"), EOS from the conventional names.
  if (const Json* post = root.find("post_processor"); post && post->is_object()) {
    auto single = post->find("single");
    if (single != post->end() && single->is_array() && !single->empty()) {
      const Json& first = (*single)[0];
      if (first.contains("SpecialToken") && first["SpecialToken"].contains("id")) {
        auto it = m->piece_ids.find(first["SpecialToken"]["id"].get<std::string>());
        if (it != m->piece_ids.end()) m->bos = it->second;
      }
    }
  }
  for (std::string_view eos : {"</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>"}) {
    auto it = m->piece_ids.find(std::string(eos));
    if (it != m->piece_ids.end() && m->special[static_cast<std::size_t>(it->second)]) {
      m->eos = {it->second};
      break;
    }
  }
  return m;
}

}  // namespace ttt::model_detail
