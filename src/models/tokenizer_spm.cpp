// tokenizer.model through libsentencepiece. Encoding is the library's; the token
// tables are read from it so that decoding and streaming share Tokenizer's code.
#include <sentencepiece_processor.h>

#include "models/tokenizer_model.hpp"
#include "ttt/error.hpp"

namespace ttt::model_detail {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, sentencepiece's space

class SentencePieceModel final : public TokenizerModel {
 public:
  void encode_segment(std::string_view text, std::vector<int32_t>& out) const override {
    std::vector<int> ids;
    const auto status = sp.Encode(text, &ids);
    if (!status.ok()) fail(ErrorKind::InvalidConfig, "{}: sentencepiece cannot encode the text: {}", file.string(), status.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
  }
  sentencepiece::SentencePieceProcessor sp;
};

}  // namespace

std::shared_ptr<TokenizerModel> load_sentencepiece_tokenizer(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) fail(ErrorKind::ModelFormat, "{}: file not found", file.string());
  auto m = std::make_shared<SentencePieceModel>();
  m->file = file;
  m->kind = TokenizerKind::sentencepiece_model;
  const auto status = m->sp.Load(file.string());
  if (!status.ok()) {
    fail(ErrorKind::ModelFormat, "{}: not a sentencepiece model: {}", file.string(), status.ToString());
  }
  const int n = m->sp.GetPieceSize();
  for (int id = 0; id < n; ++id) {
    std::string piece = m->sp.IdToPiece(id);
    std::string& out = m->decoded.emplace_back();
    if (m->sp.IsByte(id)) {
      out = std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
    } else if (!m->sp.IsControl(id) && !m->sp.IsUnknown(id) && !m->sp.IsUnused(id)) {
      for (std::size_t pos = 0; pos < piece.size();) {
        if (piece.compare(pos, kSpace.size(), kSpace) == 0) {
          out += ' ';
          pos += kSpace.size();
        } else {
          out += piece[pos++];
        }
      }
    }
    // <unk> and control tokens are special, matched in text as tokenizer.json matches its
    // added tokens, so both kinds of file split text the same way.
    const bool special = m->sp.IsControl(id) || m->sp.IsUnknown(id);
    m->special.push_back(special ? 1 : 0);
    m->piece_ids[piece] = id;
    if (special) m->split_tokens.push_back({piece, id, false, false});
    m->pieces.push_back(std::move(piece));
  }
  m->bos = m->sp.bos_id();
  if (m->sp.eos_id() >= 0) m->eos = {m->sp.eos_id()};
  // add_dummy_prefix shows as a leading space piece; decoding then drops one space.
  std::vector<std::string> probe;
  if (m->sp.Encode("a", &probe).ok() && !probe.empty()) {
    m->strip_leading_space = probe.front().compare(0, kSpace.size(), kSpace) == 0;
  }
  return m;
}

}  // namespace ttt::model_detail
