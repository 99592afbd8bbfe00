// AUTHSTORE_EXPORT: marks the public API of libauthstore. The library is built with hidden
// visibility (-fvisibility=hidden -fvisibility-inlines-hidden), so only what a public header marks
// with this macro is exported from libauthstore.so: the classes (their out-of-line members,
// vtables and type info) and free functions declared in include/authstore/. Internals (src/),
// the Redis client and Asio stay private to the library. Consumers need not define anything.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define AUTHSTORE_EXPORT [[gnu::visibility("default")]]
#else
#define AUTHSTORE_EXPORT
#endif
