#include "support/instrumented.hpp"

#include <algorithm>
#include <utility>

namespace ouro_test {

void Events::record(const char* what, const std::string& name) { log.push_back(std::string(what) + " " + name); }

std::vector<std::string> Events::of(const std::string& name) const {
  std::vector<std::string> out;
  const std::string suffix = " " + name;
  for (const std::string& entry : log) {
    if (entry.size() > suffix.size() && entry.compare(entry.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        entry.find(' ') == entry.size() - suffix.size())
      out.push_back(entry.substr(0, entry.size() - suffix.size()));
  }
  return out;
}

std::ptrdiff_t Events::position(const std::string& entry) const {
  auto it = std::find(log.begin(), log.end(), entry);
  return it == log.end() ? -1 : it - log.begin();
}

std::size_t Events::count(const std::string& entry) const {
  return static_cast<std::size_t>(std::count(log.begin(), log.end(), entry));
}

Instrumented::Instrumented(Events& ev, std::string n) : events(ev), name(std::move(n)) {
  ++events.constructed;
  events.record("construct", name);
}

Instrumented::~Instrumented() {
  ++events.destroyed;
  events.record("destroy", name);
}

void Instrumented::note_finalize() {
  ++events.finalized;
  events.record("finalize", name);
  if (on_finalize) on_finalize(*this);
}

}  // namespace ouro_test
