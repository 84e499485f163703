# The package test (ctest: package.consumers, label "package").
#
# (a) installs the library the outer build already built into a fresh
#     prefix (cmake --install), then configures, builds and runs
#     consumer/ against it through find_package(ouroboros CONFIG);
# (b) configures, builds and runs subdir_consumer/, which pulls the source
#     tree in with add_subdirectory, and checks that this built none of
#     ouroboros' tests, examples or benchmarks.
# Both use the outer build's generator, compiler, build type, OURO_CHECKS
# and sanitizer flags (tests/CMakeLists.txt passes them). Everything lives
# in WORK_DIR (<build>/tests/package), wiped at the start.
foreach(var SOURCE_DIR BINARY_DIR WORK_DIR GENERATOR CXX_COMPILER OURO_CHECKS)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()

# run(<what> COMMAND ...): runs a command, fails the test with its output if it fails.
function(run what)
  execute_process(${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "package test: ${what} failed (${rc}):\n${command}\n${out}")
  endif()
  message(STATUS "package test: ${what}: ok")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(common_args -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DOURO_EXPECT_CHECKS=${OURO_CHECKS})
if(MAKE_PROGRAM)
  list(APPEND common_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(BUILD_TYPE)
  list(APPEND common_args -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
  set(config_args --config ${BUILD_TYPE})
endif()
if(EXTRA_CXX_FLAGS)  # e.g. the sanitizers: an instrumented library needs instrumented users
  list(APPEND common_args "-DCMAKE_CXX_FLAGS=${EXTRA_CXX_FLAGS}")
endif()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

# ---- (a) find_package against an installed copy ---------------------------
run("install the built library into ${prefix}"
  COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix} ${config_args})

file(GLOB_RECURSE config_files ${prefix}/*/ouroboros-config.cmake)
file(GLOB_RECURSE umbrella ${prefix}/include/ouro/ouro.hpp)
if(NOT config_files OR NOT umbrella)
  message(FATAL_ERROR "package test: the install lacks ouroboros-config.cmake or include/ouro/ouro.hpp")
endif()
file(GLOB_RECURSE private_headers RELATIVE ${SOURCE_DIR}/src ${SOURCE_DIR}/src/*.hpp ${SOURCE_DIR}/src/*.h)
foreach(header IN LISTS private_headers)
  file(GLOB_RECURSE leaked ${prefix}/include/${header} ${prefix}/include/ouro/${header})
  if(leaked)
    message(FATAL_ERROR "package test: a private header of src/ was installed: ${leaked}")
  endif()
endforeach()

run("configure the find_package consumer"
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/find_package
    ${common_args} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
file(STRINGS ${WORK_DIR}/find_package/CMakeCache.txt found_dir REGEX "^ouroboros_DIR:")
string(FIND "${found_dir}" "${prefix}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "package test: find_package(ouroboros) did not pick the fresh install: ${found_dir}")
endif()
run("build the find_package consumer" COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/find_package ${config_args})
run("run the find_package consumer" COMMAND ${WORK_DIR}/find_package/consumer)
message(STATUS "${last_output}")

# ---- (b) add_subdirectory of the source tree --------------------------------
run("configure the add_subdirectory consumer"
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/subdir_consumer -B ${WORK_DIR}/add_subdirectory
    ${common_args} -DOURO_SOURCE_TREE=${SOURCE_DIR} -DOURO_CHECKS=${OURO_CHECKS})
run("build the add_subdirectory consumer" COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/add_subdirectory ${config_args})
run("run the add_subdirectory consumer" COMMAND ${WORK_DIR}/add_subdirectory/consumer)
message(STATUS "${last_output}")

# Not top level, so ouroboros must have built its library and nothing else.
file(STRINGS ${WORK_DIR}/add_subdirectory/CMakeCache.txt built_extras
  REGEX "^OURO_BUILD_(TESTS|EXAMPLES|BENCH):BOOL=(ON|TRUE|1)$")
file(GLOB_RECURSE built_programs
  ${WORK_DIR}/add_subdirectory/*api_surface*
  ${WORK_DIR}/add_subdirectory/*_test
  ${WORK_DIR}/add_subdirectory/*_bench
  ${WORK_DIR}/add_subdirectory/*/tour)
if(built_extras OR built_programs OR EXISTS ${WORK_DIR}/add_subdirectory/ouroboros/tests)
  message(FATAL_ERROR "package test: add_subdirectory(ouroboros) built the project's own tests, "
    "examples or benchmarks: ${built_extras} ${built_programs}")
endif()
message(STATUS "package test: both consumers built and ran; add_subdirectory built the library alone")
