# Runs `compare --from-raw RAW` and fails unless what it prints from the
# heading of the targets to the end (every target's measurement and verdict,
# then the count) is exactly the text of EXPECTED.
#   cmake -DPYTHON=python3 -DCOMPARE=.../compare -DRAW=... -DEXPECTED=... -P expect_targets.cmake
foreach(var PYTHON COMPARE RAW EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_targets.cmake: -D${var}=... is missing")
  endif()
endforeach()
execute_process(COMMAND ${PYTHON} ${COMPARE} --from-raw ${RAW}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compare --from-raw ${RAW} exited ${rc}:\n${err}")
endif()
string(FIND "${out}" "\ntargets, on the medians above" at)
if(at EQUAL -1)
  message(FATAL_ERROR "compare --from-raw ${RAW} printed no targets:\n${out}")
endif()
math(EXPR at "${at} + 1")
string(SUBSTRING "${out}" ${at} -1 got)
file(READ ${EXPECTED} want)
if(NOT got STREQUAL want)
  message(FATAL_ERROR "compare --from-raw ${RAW} printed\n${got}\ninstead of (${EXPECTED})\n${want}")
endif()
