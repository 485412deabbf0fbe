package clerkauth

// Version is the version of the clerkauth module. It is sent in the
// User-Agent of every request to Clerk as "clerkauth-go/<Version>".
const Version = "0.1.0"

// userAgentProduct is the product token clerkauth puts first in its
// User-Agent header.
const userAgentProduct = "clerkauth-go/" + Version
