// Errors as values. Result<T> carries either a T or an Error; nothing on the request path throws.
//
// Error carries a code from a closed set and a message. Request-path errors use static messages
// (a string_view into a literal, no allocation); start-up errors (config, listeners) may carry a
// formatted message that names the file, line or address concerned.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace handoff::core {

enum class Errc : uint8_t {
  kInvalidArgument,  // the input is malformed or out of range
  kNotFound,
  kAlreadyExists,
  kAddressInUse,     // a listening address is held by another socket or process
  kIo,               // the operating system refused (errno in the message)
  kLimit,            // a configured limit was exceeded
  kUnavailable,      // a dependency is missing or temporarily unable to answer
  kInternal,
};

std::string_view errcName(Errc code);

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Errc code_;
  std::string message_;
};

// Result<T>: a value or an Error. Access to the wrong alternative is a broken invariant (asserts).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{Errc::kInternal, {}};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace handoff::core
