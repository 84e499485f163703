# Warnings (and sanitizers) for ouroboros' own targets only.
#
# ouro_project_target(<target>) is called on the library and on every test,
# example and benchmark. All options are PRIVATE, so neither the exported
# target nor an add_subdirectory consumer ever sees -Wall ... -Werror.
include_guard(GLOBAL)

function(ouro_project_target target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(OURO_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
      # GCC 12-13 at -O3 warn about std::string's own inlined memcpy in
      # `"text" + std::string(...)` (GCC bug 105651): a false positive inside
      # libstdc++, so it stays a warning instead of failing the build.
      if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
         AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
         AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 14)
        target_compile_options(${target} PRIVATE -Wno-error=restrict)
      endif()
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 /permissive-)
    if(OURO_WERROR)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  endif()
  ouro_apply_sanitizers(${target})
endfunction()
