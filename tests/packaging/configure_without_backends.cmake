# ctest driver (cmake -P): configures the library alone with AUTHSTORE_WITH_REDIS=OFF,
# AUTHSTORE_WITH_SQLITE=OFF and BUILD_SHARED_LIBS=OFF, then checks that nothing of either backend
# is found, compiled or linked, that the library is static, and that the installed package files
# say so. Prints "configure without backends: OK".
# Inputs (-D): SOURCE_DIR WORK_DIR GENERATOR MAKE_PROGRAM CXX_COMPILER C_COMPILER
cmake_minimum_required(VERSION 3.25)

set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})
set(args -S ${SOURCE_DIR} -B ${build} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_C_COMPILER=${C_COMPILER}
    -DAUTHSTORE_WITH_REDIS=OFF -DAUTHSTORE_WITH_SQLITE=OFF -DBUILD_SHARED_LIBS=OFF
    -DAUTHSTORE_BUILD_TESTS=OFF -DAUTHSTORE_BUILD_BENCH=OFF -DAUTHSTORE_BUILD_CLI=OFF
    -DAUTHSTORE_PYTHON=OFF -DAUTHSTORE_BUILD_NODE=OFF
    # find_package(SQLite3 REQUIRED) would now be an error: proves it is not called.
    -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON)
if(MAKE_PROGRAM)
  list(APPEND args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configure without backends failed (${rc}):\n${out}\n${err}")
endif()

# Neither hiredis nor Asio was looked for.
file(STRINGS ${build}/CMakeCache.txt found REGEX "^AUTHSTORE_(HIREDIS|ASIO)_")
if(found)
  message(FATAL_ERROR "configure without Redis still looked for its dependencies: ${found}")
endif()

# The library's compile and link commands name no source or library of either backend.
execute_process(COMMAND ${MAKE_PROGRAM} -C ${build} -t commands authstore
                RESULT_VARIABLE rc OUTPUT_VARIABLE commands ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT commands MATCHES "src/backends/memory/memory_backend\\.cc")
  message(FATAL_ERROR "cannot list the library's build commands (${rc}): ${err}")
endif()
foreach(pattern "src/redis/" "src/backends/redis/" "src/backends/sqlite/" "hiredis" "sqlite3" "-lssl"
                "libssl")
  string(FIND "${commands}" "${pattern}" at)
  if(at GREATER -1)
    string(SUBSTRING "${commands}" ${at} 200 context)
    message(FATAL_ERROR "the library built without backends still uses '${pattern}': ...${context}")
  endif()
endforeach()

# BUILD_SHARED_LIBS=OFF is honoured.
if(NOT commands MATCHES "libauthstore\\.a" OR commands MATCHES "libauthstore\\.so")
  message(FATAL_ERROR "BUILD_SHARED_LIBS=OFF did not make a static libauthstore")
endif()

# The package files say what was left out (and the config finds OpenSSL for the static library).
file(READ ${build}/cmake/authstoreConfig.cmake config)
if(NOT config MATCHES "set\\(authstore_WITH_REDIS OFF\\)" OR NOT config MATCHES "set\\(authstore_WITH_SQLITE OFF\\)"
   OR NOT config MATCHES "if\\(ON\\)")
  message(FATAL_ERROR "authstoreConfig.cmake does not record the left-out backends:\n${config}")
endif()
file(READ ${build}/cmake/authstore.pc pc)
if(pc MATCHES "sqlite3|hiredis|libssl")
  message(FATAL_ERROR "authstore.pc names a left-out backend's library:\n${pc}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
message("configure without backends: OK")
