# Install rules: the library, its public headers, a CMake package (authstoreConfig.cmake with a
# version file) and a pkg-config file, so that either of
#   find_package(authstore 0.1 REQUIRED) + target_link_libraries(app PRIVATE authstore::authstore)
#   c++ -std=c++20 app.cc $(pkg-config --cflags --libs authstore)
# works from an installed prefix. Both are relocatable: the prefix may be moved after install.
# tests/install/ checks both against a fresh `cmake --install`.
include(CMakePackageConfigHelpers)

set(AUTHSTORE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/authstore)

# The public headers use C++20: say so in the exported interface, so a consumer that forgets
# CMAKE_CXX_STANDARD still compiles them in C++20 mode.
target_compile_features(authstore PUBLIC cxx_std_20)

install(TARGETS authstore EXPORT authstoreTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/authstore
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
  FILES_MATCHING PATTERN "*.h")

install(EXPORT authstoreTargets
  NAMESPACE authstore::
  FILE authstoreTargets.cmake
  DESTINATION ${AUTHSTORE_CMAKE_DIR} COMPONENT development)

# The package config (cmake/authstoreConfig.cmake.in) names its dependencies with find_dependency,
# written by hand. A static libauthstore carries its private dependencies into the consumer's link
# line ($<LINK_ONLY:...> entries of authstoreTargets.cmake), so the config finds them; which ones
# depends on the backends built. A shared one needs only Threads (its DT_NEEDED entries do the rest).
get_target_property(_authstore_type authstore TYPE)
if(_authstore_type STREQUAL "STATIC_LIBRARY")
  set(AUTHSTORE_PACKAGE_STATIC ON)
  # The config's list must cover what the library links: checked here, at configure time.
  set(_authstore_known_deps Threads::Threads Boost::url OpenSSL::Crypto OpenSSL::SSL SQLite::SQLite3 authstore_hiredis)
  get_target_property(_authstore_links authstore LINK_LIBRARIES)
  foreach(_lib IN LISTS _authstore_links)
    # (Skipped: generator expressions, and the ::@ markers of entries added from another directory.)
    if(_lib MATCHES "^(\\$<|::@)")
      continue()
    endif()
    if(NOT _lib IN_LIST _authstore_known_deps)
      message(FATAL_ERROR "static authstore links ${_lib}, which cmake/authstoreConfig.cmake.in does not "
                          "find: add a find_dependency for it there and to _authstore_known_deps")
    endif()
  endforeach()
else()
  set(AUTHSTORE_PACKAGE_STATIC OFF)
endif()
set(AUTHSTORE_PACKAGE_HIREDIS ${AUTHSTORE_WITH_REDIS})
set(AUTHSTORE_PACKAGE_SQLITE ${AUTHSTORE_WITH_SQLITE})
set(AUTHSTORE_LICENSE "Apache-2.0")

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/authstoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/authstoreConfig.cmake
  INSTALL_DESTINATION ${AUTHSTORE_CMAKE_DIR})
# 0.x: SameMajorVersion lets find_package(authstore 0.1) accept any 0.y >= 0.1.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/authstoreConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/authstoreConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/authstoreConfigVersion.cmake
  DESTINATION ${AUTHSTORE_CMAKE_DIR} COMPONENT development)

# pkg-config. Paths are relative to the .pc file's own directory (${pcfiledir}), so the file is
# right wherever `cmake --install --prefix` puts the tree.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(AUTHSTORE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(AUTHSTORE_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(AUTHSTORE_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _authstore_pc_up /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
  string(REGEX REPLACE "/$" "" _authstore_pc_up "${_authstore_pc_up}")
  set(AUTHSTORE_PC_PREFIX "\${pcfiledir}/${_authstore_pc_up}")
  set(AUTHSTORE_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(AUTHSTORE_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Cflags/Libs of the Requires.private packages are used only for static links (pkg-config
# --static); a shared libauthstore already names them in its DT_NEEDED entries.
set(AUTHSTORE_PC_REQUIRES_PRIVATE "libcrypto")
if(AUTHSTORE_PACKAGE_SQLITE)
  string(APPEND AUTHSTORE_PC_REQUIRES_PRIVATE " sqlite3")
endif()
# Boost.URL has no .pc file: named directly.
set(AUTHSTORE_PC_LIBS_PRIVATE "-lboost_url")
if(AUTHSTORE_PACKAGE_HIREDIS)
  # Not "Requires.private: hiredis": hiredis.pc puts -I<include>/hiredis on every consumer's
  # --cflags, and that directory's read.h / sds.h shadow other headers.
  string(APPEND AUTHSTORE_PC_REQUIRES_PRIVATE " libssl")
  string(APPEND AUTHSTORE_PC_LIBS_PRIVATE " -lhiredis")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/authstore.pc.in ${PROJECT_BINARY_DIR}/cmake/authstore.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/authstore.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)

# The command-line tool, once src/cli defines it. No RUNPATH (Debian policy): it finds libauthstore
# in the standard library directories; AUTHSTORE_INSTALL_RPATH gives it one relative to itself.
if(TARGET authstore_cli)
  if(AUTHSTORE_INSTALL_RPATH)
    set_target_properties(authstore_cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
  endif()
  install(TARGETS authstore_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

# The license, where Debian and vcpkg look for it (share/doc/authstore/LICENSE).
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
