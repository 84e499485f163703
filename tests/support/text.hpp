// support/text.hpp — reading the text the library writes: std::cerr
// captured for a scope, its lines, the default repr() and addresses as the
// library prints them (%p).
#pragma once

#include <cstddef>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace ouro_test {

// Redirects std::cerr into a string for the lifetime of the guard.
class CaptureCerr {
 public:
  CaptureCerr() : old_(std::cerr.rdbuf(buffer_.rdbuf())) {}
  ~CaptureCerr() { std::cerr.rdbuf(old_); }
  CaptureCerr(const CaptureCerr&) = delete;
  CaptureCerr& operator=(const CaptureCerr&) = delete;
  std::string text() const { return buffer_.str(); }

 private:
  std::ostringstream buffer_;
  std::streambuf* old_;
};

// `p` as the library prints addresses (%p).
inline std::string address(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// True when `s` is "<type 0x...>" with at least one lowercase hex digit
// (the default repr; addresses print as %p).
inline bool is_default_repr(const std::string& s, const std::string& type) {
  const std::string prefix = "<" + type + " 0x";
  if (s.size() < prefix.size() + 2 || s.compare(0, prefix.size(), prefix) != 0 || s.back() != '>') return false;
  for (std::size_t i = prefix.size(); i + 1 < s.size(); ++i)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

}  // namespace ouro_test
