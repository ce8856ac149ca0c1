// The one translation unit that compiles Boost.URL's sources (header-only in
// Debian's libboost1.81-dev; BOOST_URL_NO_LIB: nothing to auto-link), as
// async/asio_impl.cpp does for Asio. Users include its headers only.
#include <boost/url/src.hpp>
