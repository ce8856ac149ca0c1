// Boost.JSON's compiled part, built once here (as Asio's is in
// async/asio_impl.cpp), so the files that use it include only its headers.
// Runs on no thread of its own.
#include <boost/json/src.hpp>
