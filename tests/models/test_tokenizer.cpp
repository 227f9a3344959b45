#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "model_test_util.hpp"
#include "models/pretokenize.hpp"
#include "ttt/models/tokenizer.hpp"

namespace ttt {
namespace {

using test::error_of;
using test::parse_ids;

// From shared/models/README.md.
constexpr std::string_view kTomText = "Tom and Sue went to the zoo. They saw a big lion!";
constexpr std::string_view kTomIds = "274 287 269 301 425 411 263 377 267 265 410 451 347 426 342 394 261 370 397 289 443";
constexpr std::string_view kCafeText = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC";  // "café 日本"
constexpr std::string_view kCafeIds = "280 412 431 485 410 233 154 168 233 159 175";

void expect_readme_checks(const Tokenizer& tok) {
  EXPECT_EQ(tok.encode("Once upon a time", false), parse_ids("403 407 261 378"));
  EXPECT_EQ(tok.encode(kTomText, false), parse_ids(kTomIds));
  EXPECT_EQ(tok.encode(kCafeText, false), parse_ids(kCafeIds));
  EXPECT_EQ(tok.encode("Once upon a time"), parse_ids("1 403 407 261 378"));
  EXPECT_EQ(tok.decode(parse_ids(kTomIds)), kTomText);
  EXPECT_EQ(tok.decode(parse_ids(kCafeIds)), kCafeText);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_ids(), std::vector<int32_t>{2});
  EXPECT_EQ(tok.vocab_size(), 512);
}

TEST(Tokenizer, StoriesJsonMatchesReadme) {
  const Tokenizer tok = Tokenizer::load(test::model_path("stories260K"));
  EXPECT_EQ(tok.kind(), TokenizerKind::sentencepiece_bpe);
  EXPECT_EQ(tok.file().filename(), "tokenizer.json");
  expect_readme_checks(tok);
}

TEST(Tokenizer, StoriesSentencePieceMatchesReadme) {
  const Tokenizer tok = Tokenizer::load(test::model_path("stories260K"), TokenizerSource::sentencepiece);
  EXPECT_EQ(tok.kind(), TokenizerKind::sentencepiece_model);
  expect_readme_checks(tok);
}

TEST(Tokenizer, AidreamsPrompt) {
  const Tokenizer tok = Tokenizer::load(test::model_path("aidreams260K"));
  EXPECT_EQ(tok.encode("Once upon a time"), parse_ids("1 429 491 433 295 429 444 445 265 262 263 342 430"));
  EXPECT_EQ(tok.decode(parse_ids("446 280 432 458 375 431 422 314")), ", pixels unfolding like");
  const auto msg = error_of([&] { Tokenizer::load(test::model_path("aidreams260K"), TokenizerSource::sentencepiece); },
                            ErrorKind::ModelFormat);
  EXPECT_NE(msg.find("tokenizer.model"), std::string::npos) << msg;
}

// Both files of stories260K split text the same way, odd inputs included, except for
// runs of spaces: the sentencepiece model was trained with remove_extra_whitespaces,
// which tokenizer.json (and llama2.c's encoder) do not apply.
TEST(Tokenizer, JsonAndSentencePieceAgree) {
  const auto dir = test::model_path("stories260K");
  const Tokenizer json = Tokenizer::load(dir, TokenizerSource::json);
  const Tokenizer spm = Tokenizer::load(dir, TokenizerSource::sentencepiece);
  const std::vector<std::string> texts = {
      "", "one space", "Lily's \"big\" red ball -- 42 times!", "tab\there\nnew line\n\n",
      "\xC3\xB1" "and\xC3\xBA \xE2\x80\x9Cquoted\xE2\x80\x9D \xF0\x9F\x99\x82 emoji", "x<s>y</s>z", "<unk>",
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."};
  for (const auto& t : texts) {
    EXPECT_EQ(json.encode(t, false), spm.encode(t, false)) << "'" << t << "'";
    EXPECT_EQ(json.encode(t, true, false), spm.encode(t, true, false)) << "'" << t << "'";
  }
  EXPECT_EQ(spm.encode("  two  spaces  ", false), json.encode("two spaces", false));
  EXPECT_EQ(json.decode(json.encode("  two  spaces  ", false)), "  two  spaces  ");
  EXPECT_EQ(json.encode(" ", false), parse_ids("410 410"));
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> id(0, 511);
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<int32_t> ids(static_cast<std::size_t>(1 + rep % 17));
    for (auto& i : ids) i = id(rng);
    EXPECT_EQ(json.decode(ids), spm.decode(ids));
    EXPECT_EQ(json.decode(ids, false), spm.decode(ids, false));
  }
}

TEST(Tokenizer, SpecialTokensInText) {
  const Tokenizer tok = Tokenizer::load(test::model_path("stories260K"));
  EXPECT_EQ(tok.encode("<s>Once</s>", false), parse_ids("1 403 2"));
  const auto literal = tok.encode("<s>Once", false, false);
  EXPECT_NE(literal.front(), 1);
  EXPECT_EQ(tok.decode(literal), "<s>Once");
  EXPECT_EQ(tok.decode(parse_ids("1 403 407 2")), "Once upon");
  EXPECT_EQ(tok.decode(parse_ids("1 403 407 2"), false), "<s> Once upon</s>");
  EXPECT_TRUE(tok.is_special(1));
  EXPECT_FALSE(tok.is_special(403));
  EXPECT_TRUE(tok.is_eos(2));
  EXPECT_EQ(tok.piece(403), "\xE2\x96\x81Once");
  EXPECT_EQ(tok.token_id("\xE2\x96\x81Once"), 403);
  EXPECT_FALSE(tok.token_id("nope").has_value());
  error_of([&] { tok.piece(512); }, ErrorKind::InvalidConfig);
}

TEST(Tokenizer, StreamingEmitsWholeCharacters) {
  const Tokenizer tok = Tokenizer::load(test::model_path("stories260K"));
  StreamDecoder s(tok);
  std::vector<std::string> got;
  for (int32_t id : parse_ids(kCafeIds)) got.push_back(s.push(id));
  got.push_back(s.finish());
  const std::vector<std::string> want = {"c", "a", "f", "\xC3\xA9", " ", "", "", "\xE6\x97\xA5", "", "", "\xE6\x9C\xAC", ""};
  EXPECT_EQ(got, want);

  // A character cut short becomes U+FFFD, one per byte, at the end or when the next token arrives.
  s.reset();
  EXPECT_EQ(s.push(233), "");
  EXPECT_EQ(s.push(154), "");
  EXPECT_EQ(s.push(403), "\xEF\xBF\xBD\xEF\xBF\xBD Once");
  EXPECT_EQ(s.push(233), "");
  EXPECT_EQ(s.finish(), "\xEF\xBF\xBD");
}

TEST(Tokenizer, StreamingConcatenationEqualsDecode) {
  const Tokenizer tok = Tokenizer::load(test::model_path("stories260K"));
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> any(0, 511), byte(3 + 0x80, 3 + 0xF4);
  for (int rep = 0; rep < 300; ++rep) {
    std::vector<int32_t> ids(static_cast<std::size_t>(1 + rep % 23));
    for (auto& i : ids) i = rng() % 2 ? byte(rng) : any(rng);
    for (bool skip : {true, false}) {
      StreamDecoder s(tok, skip);
      std::string streamed;
      for (int32_t i : ids) streamed += s.push(i);
      streamed += s.finish();
      ASSERT_EQ(streamed, tok.decode(ids, skip));
    }
  }
}

TEST(Tokenizer, VocabularyLargerThanModelIsAnError) {
  test::TempDir dir;
  std::filesystem::copy_file(test::model_path("stories260K") / "tokenizer.json", dir / "tokenizer.json");
  test::write_file(dir / "config.json", R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 300})");
  const auto msg = error_of([&] { Tokenizer::load(dir.path()); }, ErrorKind::ModelFormat);
  EXPECT_NE(msg.find((dir / "tokenizer.json").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find((dir / "config.json").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("'vocab_size' is 300"), std::string::npos) << msg;

  test::write_file(dir / "config.json", R"({"vocab_size": 512, "bos_token_id": 600})");
  const auto bos = error_of([&] { Tokenizer::load(dir.path()); }, ErrorKind::ModelFormat);
  EXPECT_NE(bos.find("'bos_token_id'"), std::string::npos) << bos;
}

TEST(Tokenizer, JsonErrors) {
  test::TempDir dir;
  const auto check = [&](std::string_view json, ErrorKind kind, std::string_view needle) {
    test::write_file(dir / "tokenizer.json", json);
    const auto msg = error_of([&] { Tokenizer::load(dir.path()); }, kind);
    EXPECT_NE(msg.find((dir / "tokenizer.json").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' not in: " << msg;
  };
  check(R"({"model": {"type": "Unigram", "vocab": []}})", ErrorKind::Unsupported, "'model.type'");
  check(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})", ErrorKind::ModelFormat,
        "'model.merges[0]'");
  check(R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})", ErrorKind::ModelFormat, "'model.vocab.a'");
  check(R"({"model": {"type": "BPE", "merges": []}})", ErrorKind::ModelFormat, "missing field 'model.vocab'");
  check(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "normalizer": {"type": "NFKC"}})",
        ErrorKind::Unsupported, "'normalizer.type'");
  check(R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
            "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}})",
        ErrorKind::Unsupported, "'pre_tokenizer.pattern.Regex'");
  check(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "decoder": {"type": "WordPiece"}})",
        ErrorKind::Unsupported, "'decoder.type'");
  check(R"({"model": )", ErrorKind::ModelFormat, "malformed JSON");
}

// A small byte-level BPE (GPT-2 / Llama 3 style) built here: every byte, a few merges.
nlohmann::json byte_level_tokenizer(const nlohmann::json& pre_tokenizer) {
  using model_detail::byte_to_char;
  nlohmann::json vocab = nlohmann::json::object();
  const auto ch = [](unsigned char b) {
    std::string s;
    model_detail::append_utf8(s, byte_to_char()[b]);
    return s;
  };
  for (int b = 0; b < 256; ++b) vocab[ch(static_cast<unsigned char>(b))] = b;
  const std::string G = ch(' ');  // "Ġ"
  const std::vector<std::pair<std::string, std::string>> merges = {
      {G, "w"}, {"o", "r"}, {G + "w", "or"}, {"l", "d"}, {G + "wor", "ld"}, {"H", "e"}};
  nlohmann::json m = nlohmann::json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    m.push_back(a + " " + b);
    vocab[a + b] = next++;
  }
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}, {"byte_fallback", false}}},
          {"added_tokens", {{{"id", 300}, {"content", "<|end_of_text|>"}, {"special", true}}}},
          {"pre_tokenizer", pre_tokenizer},
          {"decoder", {{"type", "ByteLevel"}}}};
}

TEST(Tokenizer, ByteLevelBpe) {
  using model_detail::split_pattern_text;
  using model_detail::SplitPattern;
  const nlohmann::json gpt2 = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const nlohmann::json llama3 = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", split_pattern_text(SplitPattern::llama3)}}}, {"behavior", "Isolated"}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  for (const auto& pre : {gpt2, llama3}) {
    test::TempDir dir;
    test::write_file(dir / "tokenizer.json", byte_level_tokenizer(pre).dump());
    const Tokenizer tok = Tokenizer::load(dir.path());
    EXPECT_EQ(tok.kind(), TokenizerKind::byte_level_bpe);
    EXPECT_EQ(tok.encode("Hello world", false), (std::vector<int32_t>{261, 'l', 'l', 'o', 260}));
    EXPECT_EQ(tok.encode("Hello world<|end_of_text|>", false), (std::vector<int32_t>{261, 'l', 'l', 'o', 260, 300}));
    EXPECT_EQ(tok.eos_id(), 300);
    const std::string text = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\n\n  it's 123456 \xF0\x9F\x99\x82!\t";
    EXPECT_EQ(tok.decode(tok.encode(text, false)), text);
    EXPECT_EQ(tok.decode(tok.encode("Hello world<|end_of_text|>", false), false), "Hello world<|end_of_text|>");
  }
}

std::vector<std::string> split(std::string_view text, model_detail::SplitPattern p) {
  std::vector<std::string> out;
  for (auto s : model_detail::split_with_pattern(text, p)) out.emplace_back(s);
  return out;
}

TEST(Tokenizer, SplitPatterns) {
  using model_detail::SplitPattern;
  using V = std::vector<std::string>;
  EXPECT_EQ(split("Hello world's  test\n", SplitPattern::gpt2), (V{"Hello", " world", "'s", " ", " test", "\n"}));
  EXPECT_EQ(split("IT'S 2024!!", SplitPattern::gpt2), (V{"IT", "'", "S", " 2024", "!!"}));
  EXPECT_EQ(split("\t\tfoo", SplitPattern::gpt2), (V{"\t", "\t", "foo"}));
  EXPECT_EQ(split("Hello world's 123456  x\n\n y", SplitPattern::llama3),
            (V{"Hello", " world", "'s", " ", "123", "456", " ", " x", "\n\n", " y"}));
  EXPECT_EQ(split("IT'S ...\nnext", SplitPattern::llama3), (V{"IT", "'S", " ...\n", "next"}));
  EXPECT_EQ(split("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC", SplitPattern::llama3),
            (V{"caf\xC3\xA9", " \xE6\x97\xA5\xE6\x9C\xAC"}));
}

}  // namespace
}  // namespace ttt
