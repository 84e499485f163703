// make_context.hpp — how make<T>() tells Object's constructor that the
// object being built is managed (and by which heap), without a constructor
// parameter that every user type would have to forward.
//
// begin_make() saves the caller's context (make<T> can nest: a base
// constructed before Object may itself call make<>) and arms a new one with
// the offset of T's Object subobject; Object::operator new notes the block
// it returned, which turns the offset into the one address whose constructor
// takes the flags. An Object built elsewhere meanwhile (a by-value member of
// an earlier base, a parameter) has another address and stays unmanaged.
// When the offset is unknown (Object reached through a virtual base) the
// first Object inside the block takes the flags and finish_make() moves
// them to the right subobject afterwards.
#pragma once

#include "ouro/ref.hpp"

namespace ouro::detail {

extern thread_local constinit MakeFrame tls_make;

}  // namespace ouro::detail
