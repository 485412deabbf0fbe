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

// TestNetHTTPMachine checks the machine table against the reference
// itself.
func TestNetHTTPMachine(t *testing.T) {
	RunMachine(t, NetHTTPMachine)
}

// neutralMount is an adapter of a transport that is not net/http: it
// reaches the request only through copied values, calls the exported
// decision and answers with EachHeader and Reply, as clerkfiber does.
func neutralMount(_ *testing.T, m *clerkauth.Middleware) Driver {
	serve := func(w http.ResponseWriter, r *http.Request, guard bool) {
		d, ok := neutralDecide(m, w, r)
		if !ok {
			return
		}
		c, ok := d.Claims()
		if guard {
			if err := clerkauth.Authorize(c, clerkauth.Check{Permission: Permission}); err != nil {
				reply(w, m.RenderError(err))
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

// neutralDecide decides r from copied values through the exported
// decision, sets the headers every answer carries, and answers r itself
// when it does not go on.
func neutralDecide(m *clerkauth.Middleware, w http.ResponseWriter, r *http.Request) (clerkauth.Decision, bool) {
	src := &mapSource{header: r.Header.Clone(), cookies: r.Cookies()}
	d := m.Authenticate(r.Context(), clerkauth.Credentials{
		Method: r.Method, Host: r.Host, Authorization: r.Header.Values("Authorization"), Source: src, Volatile: true,
	})
	d.EachHeader(func(k, v string) {
		switch {
		case k == "Vary":
			w.Header().Add(k, v)
		case k == "Cache-Control" && w.Header().Get(k) != "":
		default:
			w.Header().Set(k, v)
		}
	})
	if !d.Allowed() {
		reply(w, d.Reply())
		return d, false
	}
	return d, true
}

func reply(w http.ResponseWriter, rep clerkauth.ErrorReply) {
	rep.EachHeader(w.Header().Set)
	w.WriteHeader(rep.Status)
	_, _ = w.Write(rep.Body)
}

// neutralMachineMount is the machine app on the hand-made transport: the
// decision's context carries the state, and the guards decide with
// AuthorizeMachine on it.
func neutralMachineMount(_ *testing.T, m *clerkauth.Middleware) Driver {
	route := func(check *clerkauth.MachineCheck) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			d, ok := neutralDecide(m, w, r)
			if !ok {
				return
			}
			ctx := d.Context(r.Context())
			if check != nil {
				if err := clerkauth.AuthorizeMachine(ctx, *check); err != nil {
					reply(w, m.RenderError(err))
					return
				}
			}
			kind, _ := clerkauth.TokenKindFromContext(ctx)
			mt, _ := clerkauth.MachineTokenFromContext(ctx)
			user, _ := clerkauth.UserIDFromContext(ctx)
			_, _ = w.Write([]byte(MachineBody(kind, mt, user)))
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+MachinePath, route(nil))
	mux.Handle("GET "+ScopedPath, route(&clerkauth.MachineCheck{Scopes: []string{Scope}}))
	mux.Handle("GET "+CallerPath, route(&clerkauth.MachineCheck{Machines: []string{CallerMachine}}))
	mux.Handle("GET "+OrgKeyPath, route(&clerkauth.MachineCheck{APIKeyOwners: []clerkauth.OwnerKind{clerkauth.OwnerOrganization}}))
	return Serve(mux)
}

// TestTransportNeutralMachine runs the machine table through the exported
// decision and AuthorizeMachine.
func TestTransportNeutralMachine(t *testing.T) {
	RunMachine(t, neutralMachineMount)
}
