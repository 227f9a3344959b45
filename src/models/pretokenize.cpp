#include "models/pretokenize.hpp"

namespace ttt::model_detail {

int utf8_valid_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  int n;
  char32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (int k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

std::vector<CodePoint> decode_utf8(std::string_view s) {
  std::vector<CodePoint> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const int n = utf8_valid_length(s, i);
    if (n == 0) {
      out.push_back({0xFFFD, static_cast<uint32_t>(i), 1});
      ++i;
      continue;
    }
    char32_t cp = static_cast<unsigned char>(s[i]);
    if (n > 1) {
      cp &= (0x7F >> n);
      for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back({cp, static_cast<uint32_t>(i), static_cast<uint32_t>(n)});
    i += static_cast<std::size_t>(n);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_unicode_space(char32_t c) {
  // Unicode White_Space, which is what \s matches in the regex engines tokenizers use.
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_unicode_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0xBC && c <= 0xBE) ||  // superscripts, fractions
         (c >= 0x660 && c <= 0x669) || (c >= 0x6F0 && c <= 0x6F9) ||        // Arabic-Indic digits
         (c >= 0x966 && c <= 0x96F) || (c >= 0x9E6 && c <= 0x9EF) ||        // Devanagari, Bengali
         (c >= 0xE50 && c <= 0xE59) ||                                      // Thai
         c == 0x2070 || (c >= 0x2074 && c <= 0x2079) || (c >= 0x2080 && c <= 0x2089) ||
         (c >= 0x2150 && c <= 0x2189) || (c >= 0x2460 && c <= 0x249B) || (c >= 0x24EA && c <= 0x24FF) ||
         (c >= 0x2776 && c <= 0x2793) || c == 0x3007 || (c >= 0x3021 && c <= 0x3029) ||
         (c >= 0x3038 && c <= 0x303A) || (c >= 0xFF10 && c <= 0xFF19) || (c >= 0x1D7CE && c <= 0x1D7FF);
}

bool is_unicode_letter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c < 0x100) return c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xC0 && c != 0xD7 && c != 0xF7);
  if (is_unicode_space(c) || is_unicode_number(c)) return false;
  // Ranges of marks, punctuation and symbols; everything else counts as a letter.
  if (c >= 0x300 && c <= 0x36F) return false;                          // combining marks
  if (c == 0x37E || c == 0x387 || (c >= 0x55A && c <= 0x55F) || c == 0x589) return false;
  if (c >= 0x591 && c <= 0x5C7) return false;                          // Hebrew points
  if (c == 0x60C || c == 0x61B || c == 0x61F || (c >= 0x64B && c <= 0x65F) || c == 0x6D4) return false;
  if (c >= 0x2000 && c <= 0x2BFF) {                                    // punctuation, symbols, arrows
    return c == 0x2071 || c == 0x207F || (c >= 0x2090 && c <= 0x209C) || c == 0x2102 || c == 0x2107 ||
           (c >= 0x210A && c <= 0x2113) || c == 0x2115 || (c >= 0x2119 && c <= 0x211D) || c == 0x2124 ||
           c == 0x2126 || c == 0x2128 || (c >= 0x212A && c <= 0x212D) || (c >= 0x212F && c <= 0x2139);
  }
  if (c >= 0x3000 && c <= 0x303F) return c == 0x3005 || c == 0x3006 || (c >= 0x3031 && c <= 0x3035) || c == 0x303B || c == 0x303C;
  if (c >= 0xD800 && c <= 0xF8FF) return false;                        // surrogates, private use
  if (c >= 0xFE00 && c <= 0xFE6F) return false;                        // variation selectors, forms
  if (c >= 0xFF00 && c <= 0xFF65) {                                    // fullwidth forms
    return (c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A);
  }
  if (c >= 0xFFF0 && c <= 0xFFFF) return false;                        // specials (U+FFFD)
  if (c >= 0x1F000 && c <= 0x1FAFF) return false;                      // emoji, symbols
  if (c >= 0xE0000) return false;                                      // tags, private use
  return true;
}

const std::array<char32_t, 256>& byte_to_char() {
  // GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest
  // are moved to 256 + n in byte order.
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) append_utf8(out, byte_to_char()[b]);
  return out;
}

std::string_view split_pattern_text(SplitPattern p) {
  switch (p) {
    case SplitPattern::gpt2: return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
    case SplitPattern::llama3:
      return R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  }
  return {};
}

namespace {

struct Matcher {
  const std::vector<CodePoint>& cps;
  std::size_t n() const { return cps.size(); }
  char32_t at(std::size_t i) const { return i < cps.size() ? cps[i].cp : 0; }
  bool letter(std::size_t i) const { return i < n() && is_unicode_letter(cps[i].cp); }
  bool number(std::size_t i) const { return i < n() && is_unicode_number(cps[i].cp); }
  bool space(std::size_t i) const { return i < n() && is_unicode_space(cps[i].cp); }
  bool other(std::size_t i) const { return i < n() && !space(i) && !letter(i) && !number(i); }
  bool newline(std::size_t i) const { return at(i) == '\r' || at(i) == '\n'; }

  // 's 't 're 've 'm 'll 'd; returns the match length or 0.
  std::size_t contraction(std::size_t i, bool ignore_case) const {
    if (at(i) != '\'') return 0;
    const auto lower = [&](std::size_t k) -> char32_t {
      const char32_t c = at(k);
      return ignore_case && c >= 'A' && c <= 'Z' ? c + 32 : c;
    };
    const char32_t a = lower(i + 1), b = lower(i + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
  }
  std::size_t run(std::size_t i, bool (Matcher::*pred)(std::size_t) const, std::size_t max = SIZE_MAX) const {
    std::size_t j = i;
    while (j < n() && j - i < max && (this->*pred)(j)) ++j;
    return j - i;
  }
  // \s+(?!\S) then \s+: a whitespace run leaves its last character to the next piece
  // when a non-space follows and the run is longer than one.
  std::size_t whitespace(std::size_t i) const {
    const std::size_t len = run(i, &Matcher::space);
    if (len == 0) return 0;
    if (i + len == n() || len == 1) return len;
    return len - 1;
  }

  std::size_t gpt2(std::size_t i) const {
    if (std::size_t m = contraction(i, false)) return m;
    const std::size_t sp = at(i) == ' ' ? 1 : 0;
    if (letter(i + sp)) return sp + run(i + sp, &Matcher::letter);
    if (number(i + sp)) return sp + run(i + sp, &Matcher::number);
    if (other(i + sp)) return sp + run(i + sp, &Matcher::other);
    return whitespace(i);
  }

  std::size_t llama3(std::size_t i) const {
    if (std::size_t m = contraction(i, true)) return m;
    if (i < n() && !newline(i) && !letter(i) && !number(i) && letter(i + 1)) return 1 + run(i + 1, &Matcher::letter);
    if (letter(i)) return run(i, &Matcher::letter);
    if (number(i)) return run(i, &Matcher::number, 3);
    const std::size_t sp = at(i) == ' ' ? 1 : 0;
    if (other(i + sp)) {
      std::size_t len = sp + run(i + sp, &Matcher::other);
      return len + run(i + len, &Matcher::newline);
    }
    // \s*[\r\n]+: through the last newline of the whitespace run.
    const std::size_t ws = run(i, &Matcher::space);
    for (std::size_t k = ws; k > 0; --k) {
      if (newline(i + k - 1)) return k;
    }
    return whitespace(i);
  }
};

}  // namespace

std::vector<std::string_view> split_with_pattern(std::string_view text, SplitPattern p) {
  const auto cps = decode_utf8(text);
  const Matcher m{cps};
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < cps.size()) {
    std::size_t len = p == SplitPattern::gpt2 ? m.gpt2(i) : m.llama3(i);
    if (len == 0) len = 1;  // cannot happen: every character is a letter, number, space or other
    const std::size_t begin = cps[i].offset;
    const std::size_t end = i + len < cps.size() ? cps[i + len].offset : text.size();
    out.push_back(text.substr(begin, end - begin));
    i += len;
  }
  return out;
}

}  // namespace ttt::model_detail
