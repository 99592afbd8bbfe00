# ctest driver (cmake -P): the dynamic symbols libauthstore.so defines are its public API
# (include/authstore/, marked AUTHSTORE_EXPORT), not its internals, the Redis client or Asio.
# Inputs (-D): LIBRARY NM
cmake_minimum_required(VERSION 3.25)

# Measured 2026-12-06 (g++ 12, RelWithDebInfo): 150 exported symbols (2,045 before
# hidden visibility). The bound leaves room for new API, not for a leak of internals.
set(max_symbols 200)

execute_process(COMMAND ${NM} -D --defined-only -C ${LIBRARY}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm -D ${LIBRARY} failed (${rc}): ${err}")
endif()
string(REGEX REPLACE "\n$" "" out "${out}")
string(REPLACE "\n" ";" symbols "${out}")
list(LENGTH symbols count)
message(STATUS "${LIBRARY}: ${count} exported symbols")

# Never exported: the library's internals, the Redis client, Asio, hiredis, robin_map, Boost.URL.
set(leaks "")
foreach(line IN LISTS symbols)
  if(line MATCHES "authstore::internal::|authstore::redis::|asio::|boost::|tsl::|nlohmann::|redisReader|hiredis")
    list(APPEND leaks "${line}")
  endif()
endforeach()
if(leaks)
  list(LENGTH leaks n)
  list(SUBLIST leaks 0 20 shown)
  string(REPLACE ";" "\n  " shown "${shown}")
  message(FATAL_ERROR "${n} internal symbols exported by ${LIBRARY}, e.g.:\n  ${shown}")
endif()
if(count GREATER max_symbols)
  message(FATAL_ERROR "${LIBRARY} exports ${count} symbols, more than ${max_symbols}: a class or "
                      "function lost hidden visibility (src/ must not use AUTHSTORE_EXPORT)")
endif()
# The public API is there (a library exporting nothing would pass the checks above).
foreach(api "authstore::open(" "authstore::CodeStore::consume(" "authstore::Status::to_string"
            "typeinfo for authstore::Clock" "authstore::create_key_file(")
  string(FIND "${out}" "${api}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${LIBRARY} does not export ${api}")
  endif()
endforeach()
message("exported symbols: OK (${count}, at most ${max_symbols})")
