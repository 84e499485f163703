// ouro/object.hpp — the base of every managed type, and what can be asked of
// any managed object: its reference count, immortality, how exceptions that
// nobody can catch are reported.
//
//   struct Node : ouro::Object {
//     ouro::Ref<Node> next;
//     void traverse(ouro::Visitor& v) override { v(next); }   // makes Node tracked
//   };
//   auto a = ouro::make<Node>();          // refcount(*a) == 1
//
// Lifetime follows CPython: an object dies the moment its last `Ref` goes
// (finalize(), then the destructor, then the memory); objects that only keep
// each other alive are found by the collector (ouro/gc.hpp).
//
// Threads: an object belongs to the thread that made it (its heap), and its
// Refs are copied and dropped on that thread only; checked builds abort when
// another thread does. When a thread ends, its objects that are still
// referenced become orphans: valid, refcounted only, never collected again.
// An orphan's count is not atomic either, so one thread at a time uses it;
// it moves to another thread with its last Ref (hand the Ref over with the
// synchronisation any non-thread-safe object needs: a join, a mutex, a
// queue). Checked builds abort, naming the rule, when a thread uses an
// orphan that another thread still holds references to. A whole graph moves
// to another thread with ouro::send (ouro/send.hpp), or is frozen and shared
// by all threads with ouro::share (ouro/share.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <string>
#include <type_traits>

#include "ouro/detail/config.hpp"

namespace ouro {

class Visitor;
namespace detail {
struct Access;
// What `new T` of a managed type meets (Object::operator new below).
struct refuse_new_t {
  explicit refuse_new_t() = default;
};
template <class>
inline constexpr bool always_false = false;
// The memory make<T>() builds a managed object in (T without an operator new
// of its own); Object::operator delete gives it back.
void* allocate_managed(std::size_t size);
void* allocate_managed(std::size_t size, std::align_val_t align);
}  // namespace detail

// Base of every managed type. Create instances with ouro::make<T>(); they are
// not copyable and die when their last Ref goes.
//
// Per-object bookkeeping is 16 bytes beyond the vtable pointer (see the table
// at the top of src/collector.cpp): a 64-bit reference count, the object's
// slot in its generation's table, 16 bits of flags and the id of its heap.
class Object {
 public:
  Object() noexcept;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  virtual ~Object();

  // Like tp_traverse: call v(member) for every Ref the object holds. A type
  // that overrides it is tracked by the collector; one that does not is
  // refcounted only and can never be part of a collected cycle. Checked
  // builds abort, naming the type and the member, when a type holds Ref
  // members but does not override it, and when it forgets a non-empty one
  // (ouro/visitor.hpp, "WHAT CHECKED BUILDS VERIFY"; ouro::Unreported marks
  // a member left out on purpose).
  virtual void traverse(Visitor& v);

  // Like __del__: runs at most once, before the destructor, while every
  // object it can reach is still intact (also inside a garbage cycle). It
  // may resurrect the object by storing ouro::ref(this) somewhere.
  virtual void finalize();

  // Like __repr__; the default is "<TypeName 0x7f...>".
  virtual std::string repr() const;

  // `new T` (and `new T[n]`) of a managed type does not compile: only
  // make<T>() creates a managed object, and one made by new would be a plain
  // C++ object that no Ref can hold. make<T>() allocates managed memory
  // itself (detail::allocate_managed), unless T declares its own operator
  // new, which it then uses; the deleting destructor hands the block back
  // here with the dynamic type's size and alignment. Placement new into
  // storage of your own still makes a plain (unmanaged) object.
  template <class Form = detail::refuse_new_t>
    requires(std::is_same_v<Form, detail::refuse_new_t> || std::is_same_v<Form, std::align_val_t>)
  static void* operator new(std::size_t, Form = Form{}) {
    static_assert(detail::always_false<Form>,
                  "ouro::Object: only ouro::make<T>() creates a managed object; `new T` would make a plain C++ object "
                  "that no Ref can hold and the collector never sees");
    throw std::bad_alloc();
  }
  template <class Form = detail::refuse_new_t>
    requires(std::is_same_v<Form, detail::refuse_new_t> || std::is_same_v<Form, std::align_val_t>)
  static void* operator new[](std::size_t, Form = Form{}) {
    static_assert(detail::always_false<Form>,
                  "ouro::Object: only ouro::make<T>() creates a managed object, one at a time; `new T[n]` would make "
                  "plain C++ objects that no Ref can hold");
    throw std::bad_alloc();
  }
  static void* operator new(std::size_t, void* where) noexcept { return where; }
  static void operator delete(void* p, std::size_t size) noexcept;
  static void operator delete(void* p, std::size_t size, std::align_val_t align) noexcept;
  static void operator delete(void*, void*) noexcept {}

 private:
  friend struct detail::Access;
  std::uint64_t refcnt_;
  std::uint32_t slot_;
  std::uint16_t flags_;
  std::uint16_t heap_id_;
};

// The exact number of strong references to `o` now (no "+1" as in
// sys.getrefcount). Immortal objects report ouro::immortal_refcount.
std::size_t refcount(const Object& o);

// What refcount() reports for an immortal object.
inline constexpr std::size_t immortal_refcount = std::size_t{1} << 62;

// PEP 683: the object's refcount is frozen; it is never freed and never
// collected (what it references stays alive with it). Throws
// std::invalid_argument when `o` was not created by make() (a stack object,
// a member, one made with new), as ouro::ref does.
void immortalize(const Object& o);
bool is_immortal(const Object& o);

// Receives exceptions that escape finalize(), gc callbacks and weak-reference
// callbacks (the object is nullptr for callbacks). Like sys.unraisablehook;
// per thread. nullptr restores the default, which prints
// "Exception ignored in: <repr>" and the exception's message to std::cerr.
using UnraisableHook = std::function<void(std::exception_ptr, const Object*)>;
void set_unraisable_hook(UnraisableHook hook);

// The demangled name of the object's dynamic type without namespaces (the
// analogue of tp_name): "Graph" for a tour::Graph.
std::string type_name(const Object& o);

}  // namespace ouro

#include "ouro/detail/destruction_entry.hpp"
#include "ouro/detail/flags.hpp"
#include "ouro/detail/make_frame.hpp"

namespace ouro {

// Inline: every make<T>() runs it. Unmanaged Objects (members, locals) pay
// one thread-local load and two compares.
inline Object::Object() noexcept
    : refcnt_(1), slot_(0), flags_(static_cast<std::uint16_t>(detail::Table::none)), heap_id_(0) {
  detail::MakeFrame& f = detail::tls_make;
  if (f.fast_expected == this) {
    f.fast_expected = nullptr;
    flags_ = f.fast_flags;
    heap_id_ = f.fast_heap_id;
  } else if (OURO_UNLIKELY((f.mode & detail::kArmed) != 0)) {
    detail::take_make_frame(this);
  }
}

// Inline too: a managed object that dies by release() (destroying, no weak
// references left, no recorded allocation site) and a plain unmanaged
// Object need nothing here; the rest (weak references, a recorded site, a
// constructor that threw, a misuse, checked builds' poisoning) goes out of
// line.
inline Object::~Object() {
#if OURO_CHECKS
  detail::object_destructor_rest(this);
#else
  const std::uint16_t f = flags_;
  if (OURO_UNLIKELY((f & (detail::kHasWeakrefs | detail::kHasSite)) != 0 ||
                    (f & (detail::kManaged | detail::kDestroying)) == detail::kManaged))
    detail::object_destructor_rest(this);
#endif
}

}  // namespace ouro
