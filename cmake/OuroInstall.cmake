# Install rules and the package configuration, so that after
#   cmake --install <build> --prefix <prefix>
# a consumer can write
#   find_package(ouroboros CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE ouro::ouro)
# Only the public headers (the HEADERS file set of include/ouro/) are
# installed; src/ never is.
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(OURO_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ouroboros
  CACHE STRING "Where ouroboros-config.cmake is installed, relative to the prefix")
mark_as_advanced(OURO_INSTALL_CMAKEDIR)

install(TARGETS ouro EXPORT ouroborosTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT ouroborosTargets
  NAMESPACE ouro::
  DESTINATION ${OURO_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ouroboros-config.cmake.in
  ${PROJECT_BINARY_DIR}/ouroboros-config.cmake
  INSTALL_DESTINATION ${OURO_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ouroboros-config-version.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/ouroboros-config.cmake
  ${PROJECT_BINARY_DIR}/ouroboros-config-version.cmake
  DESTINATION ${OURO_INSTALL_CMAKEDIR})
