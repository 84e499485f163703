# The `layers` test: the include graph between the files of src/ has no
# cycle, and docs/design/layers.md names every one of them.
#
#   cmake -DSOURCE_DIR=<repository> -P tests/layers_test.cmake
#
# A node is one name: foo.hpp and foo.cpp together. An edge is an
# `#include "bar.hpp"` (a name without a directory, that is a file of src/)
# in either of them. With each header declaring only what its own .cpp
# defines, an edge is a call (or a type) from a higher layer to a lower one;
# a cycle means two files call each other, which the layering forbids.
cmake_minimum_required(VERSION 3.25)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "layers_test.cmake: pass -DSOURCE_DIR=<repository>")
endif()

file(GLOB files RELATIVE ${SOURCE_DIR}/src ${SOURCE_DIR}/src/*.hpp ${SOURCE_DIR}/src/*.cpp)
set(nodes)
foreach(f IN LISTS files)
  get_filename_component(n ${f} NAME_WE)
  list(APPEND nodes ${n})
endforeach()
list(REMOVE_DUPLICATES nodes)
list(SORT nodes)

foreach(f IN LISTS files)
  get_filename_component(n ${f} NAME_WE)
  file(STRINGS ${SOURCE_DIR}/src/${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"[^\"/]+\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"/]+)\\.[a-z]+\".*$" "\\1" target "${line}")
    if(target IN_LIST nodes AND NOT target STREQUAL n)
      list(APPEND deps_${n} ${target})
    endif()
  endforeach()
endforeach()

# Peel off the nodes whose dependencies are all peeled off already; what
# remains lies on a cycle or leads into one.
set(remaining ${nodes})
set(changed TRUE)
while(changed)
  set(changed FALSE)
  foreach(n IN LISTS remaining)
    set(blocked FALSE)
    foreach(d IN LISTS deps_${n})
      if(d IN_LIST remaining)
        set(blocked TRUE)
        break()
      endif()
    endforeach()
    if(NOT blocked)
      list(REMOVE_ITEM remaining ${n})
      set(changed TRUE)
    endif()
  endforeach()
endwhile()

if(remaining)
  # Every remaining node has a remaining dependency: walk them to a repeat.
  list(GET remaining 0 current)
  set(path ${current})
  while(TRUE)
    foreach(d IN LISTS deps_${current})
      if(d IN_LIST remaining)
        set(current ${d})
        break()
      endif()
    endforeach()
    list(FIND path ${current} at)
    if(at GREATER_EQUAL 0)
      list(SUBLIST path ${at} -1 cycle)
      list(APPEND cycle ${current})
      break()
    endif()
    list(APPEND path ${current})
  endwhile()
  string(REPLACE ";" " -> " cycle "${cycle}")
  message(FATAL_ERROR "layers: the files of src/ include each other in a cycle: ${cycle}\n"
    "(each name stands for its .hpp and .cpp; see docs/design/layers.md)")
endif()

# The picture stays true: every node has its line in docs/design/layers.md.
file(READ ${SOURCE_DIR}/docs/design/layers.md doc)
set(missing)
foreach(n IN LISTS nodes)
  if(NOT doc MATCHES "(^|[^a-z_])${n}([^a-z_]|$)")
    list(APPEND missing ${n})
  endif()
endforeach()
if(missing)
  string(REPLACE ";" ", " missing "${missing}")
  message(FATAL_ERROR "layers: docs/design/layers.md does not place these files of src/: ${missing}")
endif()

list(LENGTH nodes count)
message(STATUS "layers: ${count} files of src/, no include cycle, all in docs/design/layers.md")
