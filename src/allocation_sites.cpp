// allocation_sites.cpp — the table of recorded allocation sites
// (allocation_sites.hpp).
#include "allocation_sites.hpp"

#include <unordered_map>

#include "ouro/detail/header.hpp"

namespace ouro::detail {

namespace {

struct SiteTable {
  std::mutex mutex;
  std::unordered_map<const Object*, CallSite> sites;
};

// Never destroyed: objects die during static destruction, and threads may
// outlive main.
SiteTable& site_table() {
  static SiteTable* table = new SiteTable;
  return *table;
}

}  // namespace

void record_site(Object& o, const CallSite& site) noexcept {
  try {
    SiteTable& t = site_table();
    std::lock_guard lock(t.mutex);
    t.sites.insert_or_assign(&o, site);
  } catch (...) {
    return;  // no memory for the entry: the site stays unknown
  }
  set(o, kHasSite);
}

void forget_site(const Object* o) noexcept {
  SiteTable& t = site_table();
  std::lock_guard lock(t.mutex);
  t.sites.erase(o);
}

std::optional<CallSite> site_of(const Object& o) {
  if (!has(o, kHasSite)) return std::nullopt;
  SiteTable& t = site_table();
  std::lock_guard lock(t.mutex);
  auto it = t.sites.find(&o);
  if (it == t.sites.end()) return std::nullopt;
  return it->second;
}

std::size_t recorded_sites() noexcept {
  SiteTable& t = site_table();
  std::lock_guard lock(t.mutex);
  return t.sites.size();
}

SiteLookup::SiteLookup() : lock_(site_table().mutex) {}

const CallSite* SiteLookup::find(const Object& o) const {
  if (!has(o, kHasSite)) return nullptr;
  const auto& sites = site_table().sites;
  auto it = sites.find(&o);
  return it == sites.end() ? nullptr : &it->second;
}

}  // namespace ouro::detail
