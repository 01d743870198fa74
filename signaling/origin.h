// Which web pages may open the signaling WebSocket: the Origin check of RFC 6455 section 10.2.
// A browser sends the page's origin with every WebSocket upgrade and a page cannot change it, so
// refusing foreign origins keeps another site's page from using a visitor's browser (and its
// network position, cookies or camera permission) to join calls here. Clients that are not
// browsers (the load generator, node's ws, libdatachannel) send no Origin and are let through:
// they could send any Origin they liked, so the check means nothing for them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::signaling {

// "scheme://host[:port]" lower-cased, with the scheme's default port (80 for http, 443 for
// https) dropped, as browsers serialize an origin (RFC 6454 section 6.2). nullopt for anything
// else: a path, a query, user info, a scheme other than http(s), "null".
std::optional<std::string> NormalizeOrigin(std::string_view origin);

// Whether an upgrade with these Origin and Host headers may proceed.
// - No Origin: yes (not a browser).
// - `allowed` empty, the default: the server's own origin, i.e. an Origin whose host and port
//   are the Host header's; https only when the server speaks TLS itself (`tls`), else http or
//   https alike (behind a TLS proxy the server cannot tell which one the browser used, and
//   either names the host the browser asked for).
// - Otherwise only the listed origins (normalized), or any when the list holds "*".
bool OriginAllowed(std::optional<std::string_view> origin, std::optional<std::string_view> host,
                   const std::vector<std::string>& allowed, bool tls = false);

}  // namespace sb::signaling
