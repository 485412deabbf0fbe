package conformance

import (
	"net/http"
	"testing"

	"github.com/clerkauth/clerkauth"
)

// TestNetHTTP checks the table against the reference itself: every status
// is what the table says.
func TestNetHTTP(t *testing.T) {
	Run(t, NetHTTP)
}

// mapSource is a CredentialSource of copied values, as a transport with
// its own request type would provide.
type mapSource struct {
	header  http.Header
	cookies []*http.Cookie
}

func (s *mapSource) Get(name string) string { return s.header.Get(name) }

func (s *mapSource) Cookie(name string) (string, bool) {
	for _, c := range s.cookies {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// neutralMount is an adapter of a transport that is not net/http: it
// reaches the request only through copied values, calls the exported
// decision and answers with EachHeader and Reply, as clerkfiber does.
func neutralMount(_ *testing.T, m *clerkauth.Middleware) Driver {
	serve := func(w http.ResponseWriter, r *http.Request, guard bool) {
		src := &mapSource{header: r.Header.Clone(), cookies: r.Cookies()}
		d := m.Authenticate(r.Context(), clerkauth.Credentials{
			Method: r.Method, Host: r.Host, Authorization: r.Header.Values("Authorization"), Source: src, Volatile: true,
		})
		d.EachHeader(func(k, v string) {
			if k == "Vary" {
				w.Header().Add(k, v)
			} else {
				w.Header().Set(k, v)
			}
		})
		reply := func(rep clerkauth.ErrorReply) {
			rep.EachHeader(w.Header().Set)
			w.WriteHeader(rep.Status)
			_, _ = w.Write(rep.Body)
		}
		if !d.Allowed() {
			reply(d.Reply())
			return
		}
		c, ok := d.Claims()
		if guard {
			if err := clerkauth.Authorize(c, clerkauth.Check{Permission: Permission}); err != nil {
				reply(m.RenderError(err))
				return
			}
		}
		_, _ = w.Write([]byte(Body(c, ok)))
	}
	mux := http.NewServeMux()
	mux.HandleFunc(PrivatePath, func(w http.ResponseWriter, r *http.Request) { serve(w, r, false) })
	mux.HandleFunc("GET "+AdminPath, func(w http.ResponseWriter, r *http.Request) { serve(w, r, true) })
	return Serve(mux)
}

// TestTransportNeutral runs the table through the exported decision fed
// with plain values: the same answers as net/http's middleware.
func TestTransportNeutral(t *testing.T) {
	Run(t, neutralMount)
}
