// make_context.hpp — the general path of make<T>() (begin_make,
// abandon_make, finish_make in thread_heap.cpp; Object's side in
// object_core.cpp; the frame and the inline path are described in
// ouro/detail/make_frame.hpp).
//
// begin_make() saves the caller's frame (make<T> can nest: a base
// constructed before Object may itself call make<>) and arms a new one with
// the offset of T's Object subobject; Object::operator new notes the block
// it returned, which turns the offset into the one address whose constructor
// takes the flags. An Object built elsewhere meanwhile (a by-value member of
// an earlier base, a parameter) has another address and stays unmanaged.
// When the offset is unknown (Object reached through a virtual base) the
// first Object inside the block takes the flags and finish_make() moves
// them to the right subobject afterwards.
#pragma once

#include "ouro/detail/make.hpp"
#include "ouro/detail/make_frame.hpp"
