# Install rules and the package configuration for find_package(ouroboros).
include(CMakePackageConfigHelpers)

install(TARGETS ouro EXPORT ouroborosTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ouro DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(OURO_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ouroboros)
install(EXPORT ouroborosTargets NAMESPACE ouro:: DESTINATION ${OURO_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ouroboros-config.cmake.in
  ${PROJECT_BINARY_DIR}/ouroboros-config.cmake
  INSTALL_DESTINATION ${OURO_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ouroboros-config-version.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/ouroboros-config.cmake
  ${PROJECT_BINARY_DIR}/ouroboros-config-version.cmake
  DESTINATION ${OURO_CMAKE_DIR})
