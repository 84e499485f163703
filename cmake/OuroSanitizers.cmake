# OURO_SANITIZE=address,undefined (or thread, memory, ...) instruments
# ouroboros' own targets: each one gets the flags at compile and link time
# through ouro_project_target(). The library also hands the link flags to
# whatever links it inside this build tree (an instrumented static library
# needs the sanitizer runtime at link time); the installed target carries
# nothing (BUILD_INTERFACE only).
include_guard(GLOBAL)

function(ouro_sanitizer_flags out_var)
  if(OURO_SANITIZE)
    set(${out_var} -fsanitize=${OURO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all PARENT_SCOPE)
  else()
    set(${out_var} "" PARENT_SCOPE)
  endif()
endfunction()

function(ouro_apply_sanitizers target)
  if(NOT OURO_SANITIZE)
    return()
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "OURO_SANITIZE needs GCC or Clang (compiler: ${CMAKE_CXX_COMPILER_ID})")
  endif()
  ouro_sanitizer_flags(flags)
  target_compile_options(${target} PRIVATE ${flags})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "STATIC_LIBRARY" OR type STREQUAL "OBJECT_LIBRARY")
    target_link_options(${target} INTERFACE $<BUILD_INTERFACE:${flags}>)
  else()
    target_link_options(${target} PRIVATE ${flags})
    if(NOT type STREQUAL "EXECUTABLE")
      target_link_options(${target} INTERFACE $<BUILD_INTERFACE:${flags}>)
    endif()
  endif()
endfunction()
