#pragma once
// Serialisation of HTTP/1.1 message heads into one flat string, and chunk framing.
//
// Beast's generic serializer walks a variant of buffer sequences per write and cost about
// 20k instructions per message in profiles; writing the head ourselves and sending
// {head, body} as one gathered write costs a few hundred. Parsing stays with Beast.

#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

namespace meridian::net {

// Appends "HTTP/1.1 <code> <reason>\r\n<fields>\r\n" to `out`. Field names and values must
// already be free of CR and LF (Beast's parser guarantees it for relayed fields).
void AppendResponseHead(std::string& out, unsigned status_code, const boost::beast::http::fields& fields);

// Appends "<METHOD> <target> HTTP/1.1\r\n<fields>\r\n" to `out`.
void AppendRequestHead(std::string& out, boost::beast::http::verb method, std::string_view target,
                       const boost::beast::http::fields& fields);

// Appends the chunk-size line of a chunk of `size` bytes ("1a2\r\n").
void AppendChunkSize(std::string& out, std::size_t size);

}  // namespace meridian::net
