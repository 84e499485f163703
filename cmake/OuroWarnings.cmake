# Warnings and sanitizers for ouroboros' own targets only (never leaked to
# users through the exported target).
function(ouro_project_target target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(OURO_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
  ouro_apply_sanitizers(${target})
endfunction()
