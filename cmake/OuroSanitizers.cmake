# OURO_SANITIZE=address,undefined (or thread, ...) instruments ouroboros'
# own targets. The library and every test executable must agree, so the
# flags go on each target through ouro_project_target().
function(ouro_apply_sanitizers target)
  if(NOT OURO_SANITIZE)
    return()
  endif()
  set(flags -fsanitize=${OURO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(${target} PRIVATE ${flags})
  target_link_options(${target} PUBLIC $<BUILD_INTERFACE:${flags}>)
endfunction()
