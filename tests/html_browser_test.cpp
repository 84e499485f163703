// inspect::write_html in a real browser: the page is written to a file and
// tests/browser/check_html.py drives headless Chromium over the DevTools
// protocol (a pipe, Python's standard library only) to check that the type
// table and the cycles are rendered and that clicking an object in the
// graph shows its referrers. Skipped, saying why, when Chromium or python3
// is not on the PATH (CI installs Chromium: .ci/run). OURO_CHROMIUM names
// another browser binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <ouro/ouro.hpp>

#include "support/forensic_nodes.hpp"
#include "support/fresh_heap.hpp"

#ifndef OURO_BROWSER_CHECK_SCRIPT
#error "tests/CMakeLists.txt defines OURO_BROWSER_CHECK_SCRIPT for this test"
#endif

namespace {

namespace fs = std::filesystem;
using ouro::make;
using ouro::Ref;
using ouro_test::Box;

std::optional<fs::path> on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::optional<fs::path> find_chromium() {
  if (const char* explicit_path = std::getenv("OURO_CHROMIUM")) return fs::path(explicit_path);
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"})
    if (auto found = on_path(name)) return found;
  return std::nullopt;
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

TEST(HtmlInBrowser, TypeTableAndCyclesRenderAndClickingAnObjectShowsItsReferrers) {
  std::optional<fs::path> chromium = find_chromium();
  std::optional<fs::path> python = on_path("python3");
  if (!chromium) GTEST_SKIP() << "Chromium is not on the PATH (apt-get install chromium, or set OURO_CHROMIUM)";
  if (!python) GTEST_SKIP() << "python3 is not on the PATH";

  fs::path page = fs::temp_directory_path() / ("ouro_html_browser_test_" + std::to_string(::getpid()) + ".html");
  ouro_test::in_fresh_heap([&] {
    // A live parent with two children pointing back, and a garbage pair.
    Ref<Box> parent = make<Box>("parent");
    for (const char* name : {"first child", "second child"}) {
      parent->children.push_back(make<Box>(name));
      parent->children.back()->next = parent;
    }
    {
      Ref<Box> a = make<Box>("lost a");
      a->next = make<Box>("lost b");
      a->next->next = a;
    }
    std::ofstream out(page);
    ouro::inspect::write_html(out);
  });
  std::string command = quoted(python->string()) + " " + quoted(OURO_BROWSER_CHECK_SCRIPT) + " " +
                        quoted(page.string()) + " " + quoted(chromium->string()) + " Box";
  int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "check_html.py failed (its output is above); the page is kept at " << page;
  if (!HasFailure()) fs::remove(page);
}

}  // namespace
