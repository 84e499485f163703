// object_core.cpp — Object's own members, the per-object queries of
// ouro/object.hpp, names and reprs, and the one fatal-error path. The bottom
// layer: it calls nothing of the library but the allocator.
#include <cxxabi.h>

#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#if OURO_ALLOCATOR_MIMALLOC
#include <mimalloc.h>
#endif

#include "object_core.hpp"

#include "allocator.hpp"
#include "make_context.hpp"
#include "ouro/detail/fault_injection.hpp"
#include "ouro/detail/header.hpp"
#include "ouro/detail/object_core_entry.hpp"
#include "ouro/ref.hpp"

namespace ouro {
namespace detail {

thread_local constinit MakeFrame tls_make OURO_TLS_MODEL{};

OURO_ALWAYS_INLINE void note_allocation(void* p, std::size_t size) noexcept {
  MakeFrame& f = tls_make;
  if ((f.mode & kArmed) == 0 || f.begin != nullptr) return;  // only the first block: the object's own
  f.begin = static_cast<const char*>(p);
  f.end = f.begin + size;
  if (f.object_offset >= 0) f.expected = reinterpret_cast<const Object*>(f.begin + f.object_offset);
}

namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

// "a::(anonymous namespace)::f()::Graph" -> "Graph"; "ns::Box<ns::X>" ->
// "Box<ns::X>": everything up to the last "::" outside brackets goes.
std::string without_scopes(const std::string& full) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < full.size(); ++i) {
    char c = full[i];
    if (c == '<' || c == '(' || c == '[') ++depth;
    if (c == '>' || c == ')' || c == ']') --depth;
    if (depth == 0 && c == ':' && i + 1 < full.size() && full[i + 1] == ':') start = i + 2;
  }
  return full.substr(start);
}

std::string address_text(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

}  // namespace

std::string demangled_name(const std::type_info& t) { return demangle(t.name()); }
std::string short_type_name(const std::type_info& t) { return without_scopes(demangle(t.name())); }

[[noreturn]] void fatal(const char* message, const Object* object) noexcept {
  if (object)
    std::fprintf(stderr, "ouro: fatal: %s (object of type %s at %p)\n", message,
                 without_scopes(demangle(typeid(*object).name())).c_str(), static_cast<const void*>(object));
  else
    std::fprintf(stderr, "ouro: fatal: %s\n", message);
  std::fflush(stderr);
  std::abort();
}

// ---------------------------------------------------------------------------
// Naming the type of a destroyed object (checked builds)
// ---------------------------------------------------------------------------
// dispose() stores the index of the dying object's type here in its slot_
// field just before the destructor runs (the dynamic type is lost once it
// has), and ~Object poisons the flags; a dangling Ref that touches the
// object later finds both. Types are few: a vector and a lock, with a
// per-thread cache of the last type for the common case of many objects of
// one type dying in a row.
#if OURO_CHECKS
namespace {

std::mutex type_table_mutex;
// Never destroyed (used until exit), and made without allocating: the
// first object to die may do so when memory is exhausted (a collection in
// pieces), and remember_type_for_checks cannot throw.
std::vector<const std::type_info*>& type_table() noexcept {
  using Table = std::vector<const std::type_info*>;
  alignas(Table) static unsigned char storage[sizeof(Table)];
  static Table* table = new (storage) Table();
  return *table;
}

bool is_poisoned(const Object& o) noexcept {
  return Access::flags(o) == kPoisonFlags && Access::heap_id(o) == kPoisonHeapId;
}

std::string remembered_type_name(std::uint32_t index) {
  std::lock_guard lock(type_table_mutex);
  if (index >= type_table().size()) return "object of unknown type";
  return without_scopes(demangle(type_table()[index]->name()));
}

}  // namespace

void remember_type_for_checks(Object& o) noexcept {
  thread_local const std::type_info* last_type = nullptr;
  thread_local std::uint32_t last_index = 0;
  const std::type_info& t = typeid(o);
  if (&t != last_type) {
    std::lock_guard lock(type_table_mutex);
    std::vector<const std::type_info*>& table = type_table();
    auto it = std::find(table.begin(), table.end(), &t);
    if (it == table.end()) {
      try {
        table.push_back(&t);
      } catch (...) {
        Access::slot(o) = UINT32_MAX;  // no room: the message will not name the type
        return;
      }
      it = table.end() - 1;
    }
    last_type = &t;
    last_index = static_cast<std::uint32_t>(it - table.begin());
  }
  Access::slot(o) = last_index;
}

void report_use_of_dead_object(const Object* o) noexcept {
  if (is_poisoned(*o)) {
    // Freed memory: no typeid, no vtable; the name comes from the table.
    std::string msg = "a Ref to a " + remembered_type_name(Access::slot(*o)) +
                      " that was already destroyed was used (use after free: its refcount reached zero earlier; a "
                      "raw pointer, or a Ref made from one with ouro::ref or adopted twice, outlived it)";
    fatal(msg.c_str());
  }
  fatal("a Ref to an object whose destruction has begun was used (its refcount had reached zero: a raw pointer, or a "
        "Ref made from one, outlived it)",
        o);
}
#endif

void check_ref_target(const Object* o) {
#if OURO_CHECKS
  if (is_poisoned(*o)) report_use_of_dead_object(o);
#endif
  if (!has(*o, kManaged))
    throw std::invalid_argument("ouro::ref: the " + type_name(*o) +
                                " was not created by ouro::make, so it cannot be referenced");
  if (has(*o, kDeferred) || has(*o, kDestroying))
    fatal("ouro::ref of an object whose destruction has begun (a Ref must not be made in a destructor)", o);
}

}  // namespace detail

using detail::Access;

namespace detail {

void take_make_frame(Object* o) noexcept {
  MakeFrame& f = tls_make;
  const char* self = reinterpret_cast<const char*>(o);
  bool for_me = f.expected ? o == f.expected : (f.begin == nullptr || (self >= f.begin && self < f.end));
  if (!for_me) return;
  f.mode = static_cast<std::uint8_t>(f.mode & ~kArmed);
  f.taker = o;
  Access::flags(*o) = f.flags;
  Access::heap_id(*o) = f.heap_id;
}

}  // namespace detail

void Object::traverse(Visitor&) {}
void Object::finalize() {}

std::string Object::repr() const {
  std::string text = "<";
  text += type_name(*this);
  text += ' ';
  text += detail::address_text(this);
  text += '>';
  return text;
}

// Managed memory comes from the pool allocator (allocator.hpp) by default;
// OURO_ALLOCATOR=mimalloc or =system in CMake swaps it for comparison. The
// deleting destructor passes the dynamic type's size and alignment, which is
// what decides pool or ::operator new, the same way on both sides.
#if OURO_ALLOCATOR_MIMALLOC
void* detail::allocate_object(std::size_t size) {
  detail::fault::check(detail::fault::Site::object);
  return mi_new(size);
}
void* detail::allocate_managed(std::size_t size) {
  detail::fault::check(detail::fault::Site::object);
  void* p = mi_new(size);
  detail::note_allocation(p, size);
  return p;
}
void* detail::allocate_managed(std::size_t size, std::align_val_t align) {
  detail::fault::check(detail::fault::Site::object);
  void* p = mi_new_aligned(size, static_cast<std::size_t>(align));
  detail::note_allocation(p, size);
  return p;
}
void Object::operator delete(void* p, std::size_t) noexcept { mi_free(p); }
void Object::operator delete(void* p, std::size_t, std::align_val_t) noexcept { mi_free(p); }
#elif OURO_ALLOCATOR_SYSTEM
void* detail::allocate_object(std::size_t size) {
  detail::fault::check(detail::fault::Site::object);
  return ::operator new(size);
}
void* detail::allocate_managed(std::size_t size) {
  detail::fault::check(detail::fault::Site::object);
  void* p = ::operator new(size);
  detail::note_allocation(p, size);
  return p;
}
void* detail::allocate_managed(std::size_t size, std::align_val_t align) {
  detail::fault::check(detail::fault::Site::object);
  void* p = ::operator new(size, align);
  detail::note_allocation(p, size);
  return p;
}
// The global sized forms need -fsized-deallocation on clang 14.
void Object::operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void Object::operator delete(void* p, std::size_t, std::align_val_t align) noexcept { ::operator delete(p, align); }
#else
void* detail::allocate_object(std::size_t size) {
  detail::fault::check(detail::fault::Site::object);
  return detail::pool::is_small(size) ? detail::pool::allocate(size) : ::operator new(size);
}
void* detail::allocate_managed(std::size_t size) {
  void* p = detail::allocate_object(size);
  detail::note_allocation(p, size);
  return p;
}
void* detail::allocate_managed(std::size_t size, std::align_val_t align) {
  detail::fault::check(detail::fault::Site::object);
  auto a = static_cast<std::size_t>(align);
  void* p = detail::pool::is_small(size, a) ? detail::pool::allocate(size, a) : ::operator new(size, align);
  detail::note_allocation(p, size);
  return p;
}
void Object::operator delete(void* p, std::size_t size) noexcept {
  if (detail::pool::is_small(size))
    detail::pool::deallocate(p);
  else
    ::operator delete(p);
}
void Object::operator delete(void* p, std::size_t size, std::align_val_t align) noexcept {
  if (detail::pool::is_small(size, static_cast<std::size_t>(align)))
    detail::pool::deallocate(p);
  else
    ::operator delete(p, align);
}
#endif

std::size_t refcount(const Object& o) {
  std::uint64_t rc = Access::refcnt(o);
  return detail::is_immortal_count(rc) ? immortal_refcount : static_cast<std::size_t>(rc);
}

void immortalize(const Object& o) {
  Object& obj = const_cast<Object&>(o);
  // Always checked (immortalize is rare): an object that make() did not
  // create has no heap to belong to, and the two states below would corrupt
  // the heap or keep a half-destroyed object forever.
  if (!detail::has(obj, detail::kManaged))
    throw std::invalid_argument("ouro::immortalize: the " + type_name(obj) +
                                " was not created by ouro::make, so it cannot be immortalized");
  if (detail::has(obj, detail::kDestroying) || detail::has(obj, detail::kDeferred)) {
#if OURO_CHECKS
    if (detail::is_poisoned(obj)) detail::report_use_of_dead_object(&obj);
#endif
    detail::fatal("ouro::immortalize of an object whose destruction has begun (its refcount reached zero)", &obj);
  }
  if (detail::has(obj, detail::kGuarded))
    detail::fatal("ouro::immortalize of an object that the running collection found to be garbage (an unreachable "
                  "cycle); immortalize objects while they are reachable",
                  &obj);
  if (!detail::is_immortal_count(Access::refcnt(obj))) Access::refcnt(obj) += detail::kImmortalBase;
}

bool is_immortal(const Object& o) { return detail::is_immortal_count(Access::refcnt(o)); }

std::string type_name(const Object& o) { return detail::short_type_name(typeid(o)); }

}  // namespace ouro
