package main

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// TestConformance runs the transports' shared table through chi, which
// takes clerkauth's net/http middleware and guards as they are.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(_ *testing.T, m *clerkauth.Middleware) conformance.Driver {
		r := chi.NewRouter()
		r.Group(func(r chi.Router) {
			r.Use(m.Handler)
			r.Method(http.MethodGet, conformance.PrivatePath, conformance.Handler())
			r.Method(http.MethodHead, conformance.PrivatePath, conformance.Handler())
			r.Method(http.MethodPost, conformance.PrivatePath, conformance.Handler())
			r.Method(http.MethodOptions, conformance.PrivatePath, conformance.Handler())
			r.With(clerkauth.RequirePermission(conformance.Permission)).Method(http.MethodGet, conformance.AdminPath, conformance.Handler())
		})
		return conformance.Serve(r)
	})
}

// TestMachineConformance runs the machine table through chi with
// clerkauth's net/http machine guards.
func TestMachineConformance(t *testing.T) {
	conformance.RunMachine(t, func(_ *testing.T, m *clerkauth.Middleware) conformance.Driver {
		r := chi.NewRouter()
		r.Group(func(r chi.Router) {
			r.Use(m.Handler)
			r.Get(conformance.MachinePath, conformance.MachineHandler().ServeHTTP)
			r.With(clerkauth.RequireScopes(conformance.Scope)).Get(conformance.ScopedPath, conformance.MachineHandler().ServeHTTP)
			r.With(clerkauth.RequireMachine(conformance.CallerMachine)).Get(conformance.CallerPath, conformance.MachineHandler().ServeHTTP)
			r.With(clerkauth.RequireAPIKeyOwner(clerkauth.OwnerOrganization)).Get(conformance.OrgKeyPath, conformance.MachineHandler().ServeHTTP)
		})
		return conformance.Serve(r)
	})
}
