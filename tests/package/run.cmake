# Builds two consumers of ouroboros: one through find_package(ouroboros
# CONFIG) against an installed copy, one through add_subdirectory. Fails if
# either does not build or run, or if add_subdirectory built our tests.
foreach(var SOURCE_DIR BINARY_DIR WORK_DIR CXX_COMPILER GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

# A separate build of the library (no tests, no sanitizers) installed into a prefix.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DOURO_BUILD_TESTS=OFF -DOURO_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/lib)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib)

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/find_package_consumer -B ${WORK_DIR}/fp -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/fp)
run(${WORK_DIR}/fp/consumer)

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/subdir_consumer -B ${WORK_DIR}/sub -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DOUROBOROS_SOURCE=${SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/sub)
run(${WORK_DIR}/sub/consumer)
file(GLOB_RECURSE leaked_tests ${WORK_DIR}/sub/*api_surface* ${WORK_DIR}/sub/*tour*)
if(leaked_tests)
  message(FATAL_ERROR "add_subdirectory(ouroboros) built the project's own tests or examples: ${leaked_tests}")
endif()
message(STATUS "both consumers built and ran")
