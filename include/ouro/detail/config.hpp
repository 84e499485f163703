// ouro/detail/config.hpp — build configuration and the graded assertions.
//
// OURO_CHECKS is set by the CMake target (PUBLIC, so the library and its users
// agree on it). With checks on, misuse that would otherwise corrupt memory
// (an object used from another thread's heap, a traverse that reports a
// reference its object does not hold, ref() of an object being destroyed)
// aborts with a message naming the type. Release builds keep only the checks
// that cost nothing on hot paths.
#pragma once

#ifndef OURO_CHECKS
#define OURO_CHECKS 0
#endif
// OURO_EXPENSIVE_CHECKS (a level above OURO_CHECKS, set by the CMake option
// of that name) runs the heap verifier between the phases of every
// collection: O(heap) each time, for tests and the fuzzer.
#ifndef OURO_EXPENSIVE_CHECKS
#define OURO_EXPENSIVE_CHECKS 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define OURO_LIKELY(x) __builtin_expect(!!(x), 1)
#define OURO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define OURO_NOINLINE __attribute__((noinline))
#define OURO_ALWAYS_INLINE inline __attribute__((always_inline))
// For the thread-locals of the hot paths. The library is compiled
// position-independent, where the default (general-dynamic) model calls
// __tls_get_addr on every access; the linker relaxes that call away in an
// executable, but the compiler has already saved registers around it.
// Initial-exec reads the thread pointer directly; its cost is a few hundred
// bytes of static TLS if the library is a shared object loaded by dlopen.
#define OURO_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define OURO_LIKELY(x) (x)
#define OURO_UNLIKELY(x) (x)
#define OURO_NOINLINE
#define OURO_ALWAYS_INLINE inline
#define OURO_TLS_MODEL
#endif

namespace ouro {
class Object;
namespace detail {

// The one cold failure path: prints "ouro: fatal: <message>" (plus the
// object's type and address when there is one) to stderr and aborts.
[[noreturn]] OURO_NOINLINE void fatal(const char* message, const Object* object = nullptr) noexcept;

}  // namespace detail
}  // namespace ouro

// Always-on check: for misuse that would corrupt memory if it went on.
#define OURO_ASSERT(cond, msg, obj)                                   \
  do {                                                                \
    if (OURO_UNLIKELY(!(cond))) ::ouro::detail::fatal((msg), (obj));  \
  } while (0)

// Checks of the library's own invariants and of user misuse that costs a
// little on hot paths: on only with OURO_CHECKS.
#if OURO_CHECKS
#define OURO_ASSERT_INTERNAL(cond, msg, obj) OURO_ASSERT(cond, msg, obj)
#else
#define OURO_ASSERT_INTERNAL(cond, msg, obj) ((void)0)
#endif
