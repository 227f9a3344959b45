// Text splitting for tokenizer.json pre-tokenizers: UTF-8 helpers, the byte-level
// byte <-> character map, and the two split patterns that byte-level BPE models use,
// written out by hand (we link no regex engine with Unicode classes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ttt::model_detail {

// Length of the UTF-8 sequence starting at s[i] when it is complete and valid, else 0.
int utf8_valid_length(std::string_view s, std::size_t i);
// Decodes s as code points; each invalid byte becomes one code point 0xFFFD with length 1.
struct CodePoint {
  char32_t cp;
  uint32_t offset;  // byte offset in the text
  uint32_t length;  // bytes
};
std::vector<CodePoint> decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);

// Approximate Unicode classes: exact for ASCII and Latin-1, by ranges elsewhere
// (docs/models.md says which).
bool is_unicode_space(char32_t cp);
bool is_unicode_number(char32_t cp);
bool is_unicode_letter(char32_t cp);

// GPT-2's byte -> printable character map: byte_to_char[b] is the code point standing for b.
const std::array<char32_t, 256>& byte_to_char();
// The text each byte of `bytes` stands for, concatenated.
std::string bytes_to_byte_level(std::string_view bytes);

enum class SplitPattern {
  gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  llama3,  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
};
// The pattern's exact text in tokenizer.json, to recognize it.
std::string_view split_pattern_text(SplitPattern p);
// The pieces of `text` in order; their concatenation is `text` (unmatched gaps are kept
// as pieces, as the "Isolated" split behavior does).
std::vector<std::string_view> split_with_pattern(std::string_view text, SplitPattern p);

}  // namespace ttt::model_detail
