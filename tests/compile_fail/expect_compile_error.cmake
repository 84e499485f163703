# Builds one EXCLUDE_FROM_ALL target that must NOT compile, and passes only
# if the build fails AND its output matches the expected diagnostic.
#   cmake -DBUILD_DIR=<build tree> -DTARGET=<target> -DEXPECTED=<regex> -P expect_compile_error.cmake
foreach(var BUILD_DIR TARGET EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_compile_error.cmake needs -D${var}=...")
  endif()
endforeach()

execute_process(
  COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)

if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not:\n${out}")
endif()
if(NOT out MATCHES "${EXPECTED}")
  message(FATAL_ERROR "${TARGET} failed to compile, but without the expected message \"${EXPECTED}\":\n${out}")
endif()
message(STATUS "${TARGET} fails to compile, as it must, saying \"${EXPECTED}\"")
